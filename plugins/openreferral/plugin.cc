// Copyright expertise-directory authors.
//
// The plugin's one exported symbol, expertise_importer_plugin_v1 (kept
// separate from the importer so tests and fuzzers link the importer without
// defining the entry point).

#include "expertise/importer_plugin.hpp"
#include "plugins/openreferral/openreferral_importer.h"

EXPERTISE_IMPORTER_PLUGIN(expertise::plugins::OpenReferralImporter)
