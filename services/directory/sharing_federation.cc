#include "services/directory/sharing_federation.h"

#include <algorithm>
#include <utility>

#include "services/sharing/matching.h"
#include "services/sharing/reports.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

std::optional<v1::GetUnmetNeedReportRequest> FederatedUnmetNeed::request(size_t region) const {
  v1::GetUnmetNeedReportRequest one = request_;
  one.set_parent(regions_[region]->resource_name());
  return one;
}

v1::UnmetNeedReport FederatedUnmetNeed::Merge(const std::vector<const v1::UnmetNeedReport*>& answers) const {
  std::vector<v1::SupportRequest> unmet;
  std::vector<std::string> unreachable;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i] == nullptr) {
      unreachable.push_back(regions_[i]->resource_name());
      continue;
    }
    unmet.insert(unmet.end(), answers[i]->requests().begin(), answers[i]->requests().end());
  }
  v1::UnmetNeedReport report = sharing::BuildUnmetNeedReport(std::move(unmet), now_);
  for (std::string& name : unreachable) report.add_unreachable(std::move(name));
  return report;
}

std::optional<v1::GetEquityReportRequest> FederatedEquity::request(size_t region) const {
  v1::GetEquityReportRequest one = request_;
  one.set_parent(regions_[region]->resource_name());
  return one;
}

v1::EquityReport FederatedEquity::Merge(const std::vector<const v1::EquityReport*>& answers) const {
  v1::EquityReport report;
  std::vector<v1::NearestSpecialist> nearest;
  std::vector<std::string> answered_regions;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i] == nullptr) {
      report.add_unreachable(regions_[i]->resource_name());
      continue;
    }
    const v1::EquityReport& answer = *answers[i];
    answered_regions.push_back(regions_[i]->code);
    report.set_within_km(answer.within_km());
    for (const auto& row : answer.rows()) *report.add_rows() = row;
    for (const auto& point : answer.trend()) *report.add_trend() = point;
    sharing::MergeNearest(&nearest, {answer.nearest().begin(), answer.nearest().end()});
  }
  const std::vector<std::string> roles(request_.roles().begin(), request_.roles().end());
  const double within_km = report.within_km() > 0 ? report.within_km() : 30;
  for (v1::CoverageGap& gap :
       sharing::CoverageGaps(nearest, ReferenceData::Get(), roles, within_km, answered_regions)) {
    *report.add_gaps() = std::move(gap);
  }
  for (auto& n : nearest) *report.add_nearest() = std::move(n);
  return report;
}

v1::SuggestProvidersResponse MergeSuggestions(const std::vector<const v1::SuggestProvidersResponse*>& answers,
                                              const std::vector<const RegionInfo*>& regions,
                                              int max_suggestions) {
  v1::SuggestProvidersResponse response;
  std::vector<v1::ProviderSuggestion> merged;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i] == nullptr) {
      response.add_unreachable(regions[i]->resource_name());
      continue;
    }
    merged.insert(merged.end(), answers[i]->suggestions().begin(), answers[i]->suggestions().end());
  }
  sharing::RankSuggestions(&merged);
  const int limit = max_suggestions == 0 ? 10 : std::min(max_suggestions, 100);
  if (static_cast<int>(merged.size()) > limit) merged.resize(limit);
  for (auto& s : merged) *response.add_suggestions() = std::move(s);
  return response;
}

}  // namespace expertise::directory
