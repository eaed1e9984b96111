#ifndef EXPERTISE_SERVICES_REGISTRY_DATABASE_URL_H_
#define EXPERTISE_SERVICES_REGISTRY_DATABASE_URL_H_

// Database URLs in messages and logs, never with a secret in them.

#include <string>

namespace expertise::registry {

// Returns `url` fit for messages and logs: as given when libpq parses it and
// it sets no password; rebuilt as keyword=value pairs with every secret
// shown as *** when it does; and a fixed text naming at most the URI scheme
// and host when libpq cannot parse it.
std::string RedactedDatabaseUrl(const std::string& url);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_DATABASE_URL_H_
