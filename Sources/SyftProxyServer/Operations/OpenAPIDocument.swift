import SyftProxyCore

/// The OpenAPI 3.1 description served at /openapi.json. It describes every route
/// ProxyServer.makeRouter registers, with the limits this replica's validators enforce
/// (PROXY_MAX_TIMEOUT, PROXY_TIMEOUT); `json` is the document at the default settings.
enum OpenAPIDocument {
    static let json = json(for: ProxyConfiguration())

    static func json(for configuration: ProxyConfiguration) -> String {
        let maxTimeout = JSONValue.format(configuration.maxTimeout)
        let defaultTimeout = JSONValue.format(configuration.timeout)
        // SyftBox registration is only valid on a replica with a SyftBox folder.
        let transports = configuration.syftBox == nil ? #"["push"]"# : #"["push", "syftbox"]"#
        return document(maxTimeout: maxTimeout, defaultTimeout: defaultTimeout, transports: transports)
    }

    private static func document(maxTimeout: String, defaultTimeout: String, transports: String) -> String {
        #"""
{
  "openapi": "3.1.0",
  "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
  "info": {
    "title": "syft-proxy",
    "version": "\#(SyftProxyVersion.current)",
    "summary": "HTTP RPC proxy between SyftBox applications.",
    "description": "App A asks the proxy to call func_name of app_name run by destination; the proxy stores the request, delivers it to App B by push (a registered URL), pull (inbox lease) or SyftBox (request files in a datasites folder), and returns App B's answer blocking or by polling. Every answer carries X-Proxy-Replica. Error bodies are {\"detail\": \"...\"}, or for validation {\"detail\": [{\"loc\", \"msg\", \"type\"}]}."
  },
  "tags": [
    {
      "name": "rpc",
      "description": "Sending requests and reading their status."
    },
    {
      "name": "delivery",
      "description": "How App B takes requests and answers them (pull mode)."
    },
    {
      "name": "apps",
      "description": "What apps publish: schemas and how they are reached (push URL or SyftBox)."
    },
    {
      "name": "operations",
      "description": "Server info, probes, metrics and this document."
    }
  ],
  "paths": {
    "/": {
      "get": {
        "tags": [
          "operations"
        ],
        "operationId": "serverInfo",
        "summary": "Server info",
        "responses": {
          "200": {
            "description": "This replica's name, version, id, store backend and uptime.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ServerInfo"
                }
              }
            }
          }
        }
      }
    },
    "/health": {
      "get": {
        "tags": [
          "operations"
        ],
        "operationId": "health",
        "summary": "Liveness",
        "description": "200 while the process serves HTTP, whether or not the store is reachable.",
        "responses": {
          "200": {
            "description": "Alive.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HealthStatus"
                }
              }
            }
          }
        }
      }
    },
    "/ready": {
      "get": {
        "tags": [
          "operations"
        ],
        "operationId": "ready",
        "summary": "Readiness (store reachable)",
        "responses": {
          "200": {
            "description": "The store answers.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ReadyStatus"
                }
              }
            }
          },
          "503": {
            "description": "The store is unreachable.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              },
              "Retry-After": {
                "$ref": "#/components/headers/Retry-After"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ReadyStatus"
                }
              }
            }
          }
        }
      }
    },
    "/metrics": {
      "get": {
        "tags": [
          "operations"
        ],
        "operationId": "metrics",
        "summary": "Prometheus metrics",
        "description": "Prometheus text format. rpc_requests_total grows by one per request this replica accepted.",
        "responses": {
          "200": {
            "description": "Metrics.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/openapi.json": {
      "get": {
        "tags": [
          "operations"
        ],
        "operationId": "openapi",
        "summary": "This document",
        "responses": {
          "200": {
            "description": "OpenAPI 3.1 document.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/rpc/send": {
      "post": {
        "tags": [
          "rpc"
        ],
        "operationId": "sendRPC",
        "summary": "Send one RPC request",
        "description": "Stores and enqueues the request. Non-blocking: answers the pending status at once. Blocking: waits up to timeout; an answer (result or error) is 200, a timeout is 504.",
        "parameters": [
          {
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "A repeat by the same caller (the API key's identity, else the client address) with the same key returns the first request instead of creating another (with Idempotent-Replay: true), for as long as that request's record lives (until its deadline plus PROXY_REQUEST_TTL, or PROXY_REQUEST_TTL after it ended). The key is bound to the request it created: the same key with a different request (app, function, destination, params, headers, timeout) is 422 at [header, Idempotency-Key]. Keys of different callers never meet.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "traceparent",
            "in": "header",
            "required": false,
            "description": "W3C trace context (version-traceid-parentid-flags, such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01); push deliveries continue this trace as a child span. As W3C Trace Context asks, a value that is not valid trace context is not an error: it is ignored and the request starts a new trace.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RPCSendRequest"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Non-blocking: the pending request. Blocking: the completed or failed request.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              },
              "X-Request-ID": {
                "$ref": "#/components/headers/X-Request-ID"
              },
              "Idempotent-Replay": {
                "$ref": "#/components/headers/Idempotent-Replay"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RPCStatus"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "500": {
            "$ref": "#/components/responses/InternalError"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          },
          "504": {
            "description": "Blocking only: no answer within timeout; the request is failed with an error containing \"timed out\".",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              },
              "X-Request-ID": {
                "$ref": "#/components/headers/X-Request-ID"
              },
              "Idempotent-Replay": {
                "$ref": "#/components/headers/Idempotent-Replay"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RPCStatus"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "429": {
            "description": "Rate limited (PROXY_RATE_LIMIT per minute per identity, or per client address without keys, across all replicas). A broadcast costs one per destination.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "Retry-After": {
                "schema": {
                  "type": "integer"
                },
                "description": "Whole seconds until the budget refills."
              },
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            }
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      }
    },
    "/rpc/broadcast": {
      "post": {
        "tags": [
          "rpc"
        ],
        "operationId": "broadcastRPC",
        "summary": "Send one request per destination",
        "parameters": [
          {
            "name": "traceparent",
            "in": "header",
            "required": false,
            "description": "W3C trace context (version-traceid-parentid-flags, such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01); push deliveries continue this trace as a child span. As W3C Trace Context asks, a value that is not valid trace context is not an error: it is ignored and the request starts a new trace.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RPCBroadcastRequest"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The created requests' ids, in the destinations' order.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              },
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/BroadcastResponse"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "429": {
            "description": "Rate limited (PROXY_RATE_LIMIT per minute per identity, or per client address without keys, across all replicas). A broadcast costs one per destination.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "X-RateLimit-Limit": {
                "$ref": "#/components/headers/X-RateLimit-Limit"
              },
              "X-RateLimit-Remaining": {
                "$ref": "#/components/headers/X-RateLimit-Remaining"
              },
              "X-RateLimit-Reset": {
                "$ref": "#/components/headers/X-RateLimit-Reset"
              },
              "Retry-After": {
                "schema": {
                  "type": "integer"
                },
                "description": "Whole seconds until the budget refills."
              },
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            }
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      }
    },
    "/rpc/status/{id}": {
      "get": {
        "tags": [
          "rpc"
        ],
        "operationId": "getStatus",
        "summary": "Read a request",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "Request id from /rpc/send or /rpc/broadcast.",
            "schema": {
              "type": "string",
              "pattern": "^(?:[^/\\\\.][^/\\\\]*|\\.[^/\\\\.][^/\\\\]*|\\.\\.[^/\\\\]+)$"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The request's status.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RPCStatus"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/PathRefused"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller's identity is neither the request's sender nor its destination.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      }
    },
    "/rpc/schema/{app_name}": {
      "get": {
        "tags": [
          "apps"
        ],
        "operationId": "getSchema",
        "summary": "An app's published schema",
        "parameters": [
          {
            "name": "app_name",
            "in": "path",
            "required": true,
            "description": "App name.",
            "schema": {
              "type": "string",
              "pattern": "^(?:[^/\\\\.][^/\\\\]*|\\.[^/\\\\.][^/\\\\]*|\\.\\.[^/\\\\]+)$"
            }
          },
          {
            "name": "destination",
            "in": "query",
            "required": false,
            "description": "SyftBox only: whose datasite to read the app's rpc.schema.json from.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The schema as the app published it.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AppSchema"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/PathRefused"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ],
        "description": "The schema the app published with PUT. When none was published and the SyftBox transport is on, the app's rpc/rpc.schema.json in the datasites folder is read instead (from ?destination='s datasite, else the first datasite that has one) and returned as an AppSchema with source \"syftbox\"."
      },
      "put": {
        "tags": [
          "apps"
        ],
        "operationId": "publishSchema",
        "summary": "Publish an app's schema",
        "description": "The first identity to publish an app's schema owns it; another identity gets 403.",
        "parameters": [
          {
            "name": "app_name",
            "in": "path",
            "required": true,
            "description": "App name.",
            "schema": {
              "type": "string",
              "pattern": "^(?:[^/\\\\.][^/\\\\]*|\\.[^/\\\\.][^/\\\\]*|\\.\\.[^/\\\\]+)$"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/AppSchema"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Stored.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SchemaPublished"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/PathRefused"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      }
    },
    "/rpc/apps/{app_name}/endpoint": {
      "get": {
        "tags": [
          "apps"
        ],
        "operationId": "getEndpoint",
        "summary": "How an app and destination are reached",
        "description": "transport is push (url is the push URL), syftbox (url is the syft:// folder of the app) or pull (nothing registered; url is null).",
        "parameters": [
          {
            "name": "app_name",
            "in": "path",
            "required": true,
            "description": "App name.",
            "schema": {
              "type": "string",
              "pattern": "^(?:[^/\\\\.][^/\\\\]*|\\.[^/\\\\.][^/\\\\]*|\\.\\.[^/\\\\]+)$"
            }
          },
          {
            "name": "destination",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+@[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+$"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The pair's delivery.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/EndpointRegistered"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/PathRefused"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "Only the destination identity may read its endpoint.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            }
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      },
      "put": {
        "tags": [
          "apps"
        ],
        "operationId": "registerEndpoint",
        "summary": "Register how an app is reached: a push URL or SyftBox",
        "description": "Push (the default, with url): the proxy POSTs each request for this app and destination to url as an InboxItem, with X-Request-ID and traceparent headers. A 2xx JSON answer completes the request (its \"result\" member if it has one, else the whole body); a non-2xx answer fails it. SyftBox ({\"transport\": \"syftbox\"}, no url; needs PROXY_SYFTBOX_DATA_DIR): each request is written as a syft-rpc request file at <datasites>/<destination>/app_data/<app_name>/rpc/<func_name>/<PROXY_SYFTBOX_EMAIL>/<id>.request, and the app's .response file answers it. A pair with no registration whose app folder exists in the datasites folder, and whose inbox no pull consumer polled in the last 60 s, is registered for SyftBox on its first send.",
        "parameters": [
          {
            "name": "app_name",
            "in": "path",
            "required": true,
            "description": "App name.",
            "schema": {
              "type": "string",
              "pattern": "^(?:[^/\\\\.][^/\\\\]*|\\.[^/\\\\.][^/\\\\]*|\\.\\.[^/\\\\]+)$"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/EndpointRegistration"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Registered; queued requests for this pair move to push delivery.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/EndpointRegistered"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/PathRefused"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "Only the destination identity may register its push endpoint.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      },
      "delete": {
        "tags": [
          "apps"
        ],
        "operationId": "removeEndpoint",
        "summary": "Remove an endpoint (push or SyftBox)",
        "description": "The pair returns to pull delivery. A pair whose app folder exists in the SyftBox datasites folder is registered for SyftBox again on its next send unless a pull consumer polls its inbox.",
        "parameters": [
          {
            "name": "app_name",
            "in": "path",
            "required": true,
            "description": "App name.",
            "schema": {
              "type": "string",
              "pattern": "^(?:[^/\\\\.][^/\\\\]*|\\.[^/\\\\.][^/\\\\]*|\\.\\.[^/\\\\]+)$"
            }
          },
          {
            "name": "destination",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+@[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+$"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "Removed.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/EndpointRemoved"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/PathRefused"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "Only the destination identity may remove its push endpoint.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      }
    },
    "/rpc/inbox/{app_name}": {
      "get": {
        "tags": [
          "delivery"
        ],
        "operationId": "leaseInbox",
        "summary": "Pull mode: lease requests",
        "description": "Leases up to max pending requests for this app and destination, first in, first out, waiting up to wait seconds for one to arrive. A lease not answered within PROXY_LEASE_SECONDS is delivered again (attempts + 1); after PROXY_MAX_ATTEMPTS deliveries the request fails.",
        "parameters": [
          {
            "name": "app_name",
            "in": "path",
            "required": true,
            "description": "App name, 1 to 128 characters.",
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128,
              "pattern": "^(?:[^/\\\\.][^/\\\\]*|\\.[^/\\\\.][^/\\\\]*|\\.\\.[^/\\\\]+)$"
            }
          },
          {
            "name": "destination",
            "in": "query",
            "required": true,
            "description": "Identity whose requests to lease.",
            "schema": {
              "type": "string",
              "minLength": 1,
              "pattern": "^[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+@[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+$"
            }
          },
          {
            "name": "max",
            "in": "query",
            "required": false,
            "description": "Most requests to lease, a whole number from 1 to 100.",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 100,
              "default": 10
            }
          },
          {
            "name": "wait",
            "in": "query",
            "required": false,
            "description": "Seconds to wait for a request when none is queued; at most PROXY_MAX_TIMEOUT (default 300).",
            "schema": {
              "type": "number",
              "minimum": 0,
              "maximum": \#(maxTimeout),
              "default": 0
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The leased requests, possibly none.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/InboxResponse"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/PathRefused"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "Only the destination identity may lease its inbox.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            }
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      }
    },
    "/rpc/reply/{id}": {
      "post": {
        "tags": [
          "delivery"
        ],
        "operationId": "reply",
        "summary": "Answer a request",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "Request id from the inbox item.",
            "schema": {
              "type": "string",
              "pattern": "^(?:[^/\\\\.][^/\\\\]*|\\.[^/\\\\.][^/\\\\]*|\\.\\.[^/\\\\]+)$"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ReplyBody"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Accepted; the request's final status.",
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RPCStatus"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/PathRefused"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "Only the request's destination may answer it.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "X-Proxy-Replica": {
                "$ref": "#/components/headers/X-Proxy-Replica"
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "503": {
            "$ref": "#/components/responses/ServiceUnavailable"
          }
        },
        "security": [
          {
            "ApiKey": []
          },
          {}
        ]
      }
    }
  },
  "components": {
    "schemas": {
      "RPCSendRequest": {
        "type": "object",
        "required": [
          "app_name",
          "func_name",
          "destination"
        ],
        "properties": {
          "app_name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[^/\\u0000-\\u001F]*$",
            "description": "App to call. 1 to 128 characters, without '/' or control characters. The server counts user-perceived characters (grapheme clusters), so a name made of combining sequences may hold more code points than maxLength."
          },
          "func_name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[^/\\u0000-\\u001F]*$",
            "description": "Function of the app to call. 1 to 128 characters, without '/' or control characters. The server counts user-perceived characters (grapheme clusters), so a name made of combining sequences may hold more code points than maxLength."
          },
          "destination": {
            "type": "string",
            "minLength": 3,
            "maxLength": 254,
            "pattern": "^[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+@[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+$",
            "description": "User whose app runs the call. An identity with exactly one '@' (something on both sides), no whitespace or '/'.",
            "examples": [
              "bob@example.com"
            ]
          },
          "params": {
            "type": [
              "object",
              "null"
            ],
            "default": {},
            "additionalProperties": true,
            "description": "Arguments of the function. At most PROXY_MAX_PARAMS_BYTES (default 1000000) bytes as compact JSON; larger params are a 422 at [\"body\", \"params\"]. null means {}."
          },
          "blocking": {
            "type": [
              "boolean",
              "null"
            ],
            "default": false,
            "description": "true waits for the answer (up to timeout); false returns the pending status at once."
          },
          "timeout": {
            "type": [
              "number",
              "null"
            ],
            "exclusiveMinimum": 0,
            "maximum": \#(maxTimeout),
            "default": \#(defaultTimeout),
            "description": "Seconds before an unanswered request fails as timed out. Greater than 0 and at most PROXY_MAX_TIMEOUT (default 300); the default is PROXY_TIMEOUT (default 60). null means the default."
          },
          "headers": {
            "type": [
              "object",
              "null"
            ],
            "default": {},
            "maxProperties": \#(Validation.maximumHeaderCount),
            "additionalProperties": {
              "type": "string"
            },
            "description": "String-to-string headers passed on to the app, at most \#(Validation.maximumHeaderCount) of them and \#(Validation.maximumHeaderBytes) bytes of names and values together (422 at [body, headers] beyond). null means {}."
          }
        },
        "examples": [
          {
            "app_name": "calculator",
            "func_name": "add",
            "destination": "bob@example.com",
            "params": {
              "a": 5,
              "b": 3
            },
            "blocking": true,
            "timeout": 30
          }
        ]
      },
      "RPCBroadcastRequest": {
        "type": "object",
        "required": [
          "func_name",
          "destinations"
        ],
        "properties": {
          "func_name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[^/\\u0000-\\u001F]*$",
            "description": "Function to call on every destination. 1 to 128 characters, without '/' or control characters. The server counts user-perceived characters (grapheme clusters), so a name made of combining sequences may hold more code points than maxLength."
          },
          "params": {
            "type": [
              "object",
              "null"
            ],
            "default": {},
            "additionalProperties": true,
            "description": "Arguments of the function. At most PROXY_MAX_PARAMS_BYTES (default 1000000) bytes as compact JSON; larger params are a 422 at [\"body\", \"params\"]. null means {}."
          },
          "headers": {
            "type": [
              "object",
              "null"
            ],
            "default": {},
            "maxProperties": \#(Validation.maximumHeaderCount),
            "additionalProperties": {
              "type": "string"
            },
            "description": "String-to-string headers passed on to the app, at most \#(Validation.maximumHeaderCount) of them and \#(Validation.maximumHeaderBytes) bytes of names and values together (422 at [body, headers] beyond). null means {}."
          },
          "timeout": {
            "type": [
              "number",
              "null"
            ],
            "exclusiveMinimum": 0,
            "maximum": \#(maxTimeout),
            "default": \#(defaultTimeout),
            "description": "Seconds before an unanswered request fails as timed out. Greater than 0 and at most PROXY_MAX_TIMEOUT (default 300); the default is PROXY_TIMEOUT (default 60). null means the default."
          },
          "destinations": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "description": "SyftBox URLs; each gives the destination identity and the app. One malformed URL rejects the whole broadcast with a 422 at [\"body\", \"destinations\", index] and creates nothing.",
            "items": {
              "type": "string",
              "pattern": "^syft://[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+@[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+/app_data/[^/]{1,128}/rpc/[^/]+(/[^/]+)*$",
              "examples": [
                "syft://bob@example.com/app_data/calculator/rpc/add"
              ]
            }
          }
        }
      },
      "BroadcastResponse": {
        "type": "object",
        "required": [
          "broadcast_id",
          "request_ids"
        ],
        "properties": {
          "broadcast_id": {
            "type": "string"
          },
          "request_ids": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "One request id per destination, in the destinations' order."
          }
        }
      },
      "RPCStatus": {
        "type": "object",
        "required": [
          "id",
          "app_name",
          "func_name",
          "destination",
          "sender",
          "status",
          "result",
          "error",
          "created_at",
          "updated_at",
          "completed_at",
          "attempts"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "app_name": {
            "type": "string"
          },
          "func_name": {
            "type": "string"
          },
          "destination": {
            "type": "string"
          },
          "sender": {
            "type": [
              "string",
              "null"
            ],
            "description": "Identity of the caller, or null without API keys."
          },
          "status": {
            "type": "string",
            "enum": [
              "pending",
              "processing",
              "completed",
              "failed"
            ]
          },
          "result": {
            "description": "The app's answer (any JSON), or null."
          },
          "error": {
            "type": [
              "string",
              "null"
            ],
            "description": "Why the request failed, or null. A timeout's text contains \"timed out\"."
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the proxy accepted the request. ISO 8601 UTC."
          },
          "updated_at": {
            "type": "string",
            "format": "date-time",
            "description": "Last change. ISO 8601 UTC."
          },
          "completed_at": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time",
            "description": "When the request became completed or failed. ISO 8601 UTC, or null."
          },
          "attempts": {
            "type": "integer",
            "minimum": 0,
            "description": "Deliveries so far (pull leases and push attempts)."
          }
        }
      },
      "InboxItem": {
        "type": "object",
        "required": [
          "id",
          "app_name",
          "func_name",
          "params",
          "headers",
          "sender",
          "deadline",
          "attempts"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "app_name": {
            "type": "string"
          },
          "func_name": {
            "type": "string"
          },
          "params": {
            "type": "object",
            "additionalProperties": true
          },
          "headers": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            }
          },
          "sender": {
            "type": [
              "string",
              "null"
            ]
          },
          "deadline": {
            "type": "string",
            "format": "date-time",
            "description": "After this instant the request fails as timed out. ISO 8601 UTC."
          },
          "attempts": {
            "type": "integer",
            "minimum": 1,
            "description": "This delivery's number, from 1."
          },
          "endpoint": {
            "type": "string",
            "description": "The syft:// URL a broadcast addressed; absent otherwise."
          }
        },
        "description": "One delivery, in the inbox answer and as the body of a push POST."
      },
      "InboxResponse": {
        "type": "object",
        "required": [
          "requests"
        ],
        "properties": {
          "requests": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/InboxItem"
            },
            "description": "Leased requests, first in, first out; empty when none arrived within wait."
          }
        }
      },
      "FunctionSchema": {
        "description": "The conventional description of one function. The server stores function entries as published and does not check their shape.",
        "properties": {
          "params": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            }
          },
          "returns": {
            "type": "string"
          },
          "description": {
            "type": "string"
          }
        }
      },
      "AppSchema": {
        "type": "object",
        "required": [
          "functions"
        ],
        "properties": {
          "functions": {
            "type": "object",
            "additionalProperties": {
              "description": "Conventionally a FunctionSchema ({params, returns, description}); stored as published, its shape unchecked."
            }
          }
        },
        "examples": [
          {
            "functions": {
              "add": {
                "params": {
                  "a": "number",
                  "b": "number"
                },
                "returns": "number",
                "description": "Add two numbers"
              }
            }
          }
        ],
        "description": "functions maps each function name to its description. The body may also carry app_name, which must then equal the path's (422 otherwise); the stored schema always carries the path's app_name."
      },
      "SchemaPublished": {
        "type": "object",
        "required": [
          "app_name",
          "status"
        ],
        "properties": {
          "app_name": {
            "type": "string"
          },
          "status": {
            "type": "string",
            "const": "published"
          }
        }
      },
      "ReplyBody": {
        "type": "object",
        "description": "Exactly one of result (any JSON) or error (a message). An error fails the request.",
        "properties": {
          "result": {
            "description": "The function's return value (any JSON); with an error, only null is allowed."
          },
          "error": {
            "type": [
              "string",
              "null"
            ],
            "description": "Why the function failed; null counts as absent."
          }
        },
        "oneOf": [
          {
            "required": [
              "result"
            ],
            "properties": {
              "error": {
                "type": "null"
              }
            }
          },
          {
            "required": [
              "error"
            ],
            "properties": {
              "error": {
                "type": "string"
              },
              "result": {
                "type": "null"
              }
            }
          }
        ],
        "examples": [
          {
            "result": 8
          },
          {
            "error": "division by zero"
          }
        ]
      },
      "EndpointRegistration": {
        "type": "object",
        "properties": {
          "destination": {
            "type": "string",
            "minLength": 3,
            "maxLength": 254,
            "pattern": "^[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+@[^@/\\u0000-\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+$",
            "description": "Identity whose requests for this app are delivered this way. An identity with exactly one '@'; for SyftBox it must also have a dot in the domain (name@domain.tld). (Older clients that cannot send it may give it as ?destination= instead; the body's wins.)",
            "examples": [
              "bob@example.com"
            ]
          },
          "url": {
            "type": "string",
            "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$",
            "description": "Push only (required there): absolute http:// or https:// URL the proxy POSTs each request to: a non-empty authority with a port from 1 to 65535 if any, and no whitespace. The outbound policy applies: a literal address in a denied network (link-local and cloud metadata addresses by default, plus PROXY_PUSH_DENY_NETWORKS, less PROXY_PUSH_ALLOW_NETWORKS) is 422 at [body, url]; a name is checked after DNS resolution at each delivery.",
            "examples": [
              "http://127.0.0.1:9000/rpc"
            ]
          },
          "transport": {
            "type": "string",
            "enum": \#(transports),
            "default": "push",
            "description": "push delivers by HTTP POST to url; syftbox (offered only when this replica has a SyftBox folder, PROXY_SYFTBOX_DATA_DIR) writes syft-rpc request files into the datasites folder."
          }
        },
        "description": "Push: {destination, url} (url required). SyftBox: {destination, transport: \"syftbox\"} with no url.",
        "required": [
          "destination"
        ],
        "if": {
          "properties": {
            "transport": {
              "const": "syftbox"
            }
          },
          "required": [
            "transport"
          ]
        },
        "then": {
          "not": {
            "required": [
              "url"
            ]
          }
        },
        "else": {
          "required": [
            "url"
          ]
        }
      },
      "EndpointRegistered": {
        "type": "object",
        "required": [
          "app_name",
          "destination",
          "url",
          "transport"
        ],
        "properties": {
          "app_name": {
            "type": "string"
          },
          "destination": {
            "type": "string"
          },
          "url": {
            "type": [
              "string",
              "null"
            ],
            "description": "The push URL, or syft://<destination>/app_data/<app_name>/rpc for SyftBox; null for pull."
          },
          "transport": {
            "type": "string",
            "enum": [
              "push",
              "syftbox",
              "pull"
            ]
          }
        }
      },
      "EndpointRemoved": {
        "type": "object",
        "required": [
          "app_name",
          "destination",
          "transport"
        ],
        "properties": {
          "app_name": {
            "type": "string"
          },
          "destination": {
            "type": "string"
          },
          "transport": {
            "type": "string",
            "const": "pull"
          }
        }
      },
      "ServerInfo": {
        "type": "object",
        "required": [
          "name",
          "version",
          "replica_id",
          "store",
          "uptime_seconds"
        ],
        "properties": {
          "name": {
            "type": "string",
            "const": "syft-proxy"
          },
          "version": {
            "type": "string"
          },
          "replica_id": {
            "type": "string"
          },
          "store": {
            "type": "string",
            "enum": [
              "memory",
              "redis"
            ]
          },
          "uptime_seconds": {
            "type": "number",
            "minimum": 0
          },
          "started_at": {
            "type": "string",
            "format": "date-time",
            "description": "When this replica started. ISO 8601 UTC."
          },
          "docs": {
            "type": "string",
            "description": "Path of this document."
          }
        }
      },
      "HealthStatus": {
        "type": "object",
        "required": [
          "status",
          "replica_id"
        ],
        "properties": {
          "status": {
            "type": "string",
            "const": "ok"
          },
          "replica_id": {
            "type": "string"
          }
        }
      },
      "ReadyStatus": {
        "type": "object",
        "required": [
          "status",
          "store"
        ],
        "properties": {
          "status": {
            "type": "string",
            "enum": [
              "ready",
              "unavailable"
            ]
          },
          "store": {
            "type": "string",
            "enum": [
              "memory",
              "redis"
            ]
          },
          "detail": {
            "type": "string",
            "description": "Why the store is unreachable (503 only)."
          }
        }
      },
      "ValidationErrorItem": {
        "type": "object",
        "required": [
          "loc",
          "msg",
          "type"
        ],
        "properties": {
          "loc": {
            "type": "array",
            "items": {
              "anyOf": [
                {
                  "type": "string"
                },
                {
                  "type": "integer"
                }
              ]
            },
            "description": "Where the problem is, e.g. [\"body\", \"timeout\"] or [\"query\", \"max\"]."
          },
          "msg": {
            "type": "string"
          },
          "type": {
            "type": "string"
          }
        }
      },
      "HTTPValidationError": {
        "type": "object",
        "required": [
          "detail"
        ],
        "properties": {
          "detail": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/ValidationErrorItem"
            }
          }
        }
      },
      "ErrorDetail": {
        "type": "object",
        "required": [
          "detail"
        ],
        "properties": {
          "detail": {
            "type": "string"
          }
        }
      }
    },
    "responses": {
      "NotFound": {
        "description": "Unknown or expired.",
        "headers": {
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorDetail"
            }
          }
        }
      },
      "Conflict": {
        "description": "Already answered, failed or timed out; the answer was ignored.",
        "headers": {
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorDetail"
            }
          }
        }
      },
      "Forbidden": {
        "description": "Another identity owns this app's schema.",
        "headers": {
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorDetail"
            }
          }
        }
      },
      "ContentTooLarge": {
        "description": "Body over PROXY_MAX_BODY_BYTES (default 4 x PROXY_MAX_PARAMS_BYTES), declared by Content-Length or sent chunked.",
        "headers": {
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorDetail"
            }
          }
        }
      },
      "ValidationFailed": {
        "description": "Validation error: malformed or non-object JSON (or JSON nested deeper than 256 levels), missing or out-of-range fields. Every problem in the body is listed.",
        "headers": {
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/HTTPValidationError"
            }
          }
        }
      },
      "ServiceUnavailable": {
        "description": "The store is unreachable, the replica is over PROXY_MAX_REQUESTS in flight, or it is shutting down.",
        "headers": {
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          },
          "Retry-After": {
            "$ref": "#/components/headers/Retry-After"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorDetail"
            }
          }
        }
      },
      "InternalError": {
        "description": "The store accepted nothing; retry.",
        "headers": {
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorDetail"
            }
          }
        }
      },
      "Unauthorized": {
        "description": "Missing or unknown X-API-Key (only when API keys are configured).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorDetail"
            }
          }
        },
        "headers": {
          "WWW-Authenticate": {
            "schema": {
              "type": "string"
            },
            "description": "ApiKey"
          },
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          }
        }
      },
      "PathRefused": {
        "description": "The path is not in its plain form (an empty, '.' or '..' segment, a backslash, an encoded '/' or '\\'); refused before routing.",
        "headers": {
          "X-Proxy-Replica": {
            "$ref": "#/components/headers/X-Proxy-Replica"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorDetail"
            }
          }
        }
      }
    },
    "headers": {
      "X-Proxy-Replica": {
        "description": "Id of the replica that answered.",
        "schema": {
          "type": "string"
        }
      },
      "X-Request-ID": {
        "description": "Id of the request this call created (or, for an idempotent repeat, found).",
        "schema": {
          "type": "string"
        }
      },
      "Idempotent-Replay": {
        "description": "\"true\" when the Idempotency-Key matched an earlier request, whose id is answered.",
        "schema": {
          "type": "string",
          "const": "true"
        }
      },
      "Retry-After": {
        "description": "Whole seconds to wait before retrying.",
        "schema": {
          "type": "integer",
          "minimum": 0
        }
      },
      "X-RateLimit-Limit": {
        "description": "Requests per minute allowed for the caller's identity (or address) across all replicas; present when PROXY_RATE_LIMIT > 0.",
        "schema": {
          "type": "integer"
        }
      },
      "X-RateLimit-Remaining": {
        "description": "Requests left in the current minute.",
        "schema": {
          "type": "integer"
        }
      },
      "X-RateLimit-Reset": {
        "description": "Whole seconds until the budget refills.",
        "schema": {
          "type": "integer"
        }
      }
    },
    "securitySchemes": {
      "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Required on /rpc/* when the operator configured PROXY_API_KEYS or PROXY_API_KEYS_FILE; each key maps to an identity. Without configured keys the API is open and requests carry no identity."
      }
    }
  }
}
"""#
    }
}
