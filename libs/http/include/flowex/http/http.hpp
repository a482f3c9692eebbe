#pragma once
/// Everything of libs/http in one include.
#include "flowex/http/access_log.hpp"
#include "flowex/http/client.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/message.hpp"
#include "flowex/http/router.hpp"
#include "flowex/http/server.hpp"
