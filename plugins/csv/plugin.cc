// Copyright expertise-directory authors.
//
// The plugin's one exported symbol, expertise_importer_plugin_v1().
#include "plugins/csv/csv_importer.h"

EXPERTISE_IMPORTER_PLUGIN(expertise::plugins::CsvImporter)
