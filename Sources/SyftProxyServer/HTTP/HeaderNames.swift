import HTTPTypes

extension HTTPField.Name {
    static let traceparent = Self("traceparent")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplay = Self("Idempotent-Replay")!
    static let requestID = Self("X-Request-ID")!
    static let replicaID = Self("X-Proxy-Replica")!
    static let apiKey = Self("X-API-Key")!
    static let wwwAuthenticate = Self("WWW-Authenticate")!
    static let rateLimitLimit = Self("X-RateLimit-Limit")!
    static let rateLimitRemaining = Self("X-RateLimit-Remaining")!
    static let rateLimitReset = Self("X-RateLimit-Reset")!
    static let contentTypeOptions = Self("X-Content-Type-Options")!
    static let frameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
