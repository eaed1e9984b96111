// The fhir importer's entry point: the one symbol the shared object exports.
#include "fhir_importer.h"

EXPERTISE_IMPORTER_PLUGIN(expertise::plugins::FhirImporter)
