import Hummingbird
import NIOCore
import SyftProxyCore

enum RequestBody {
    /// Reads and parses a JSON body. Over `limit` bytes is 413 whether the size was declared
    /// by Content-Length or only discovered while a chunked body streamed in.
    static func json(_ request: Request, limit: Int) async throws -> JSONValue {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw tooLarge(limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw tooLarge(limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge(limit)
        }
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
        do {
            return try Validation.parseBody(bytes)
        } catch {
            throw APIError(validation: error)
        }
    }

    private static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "request body is larger than \(limit) bytes (PROXY_MAX_BODY_BYTES); send smaller params or raise the limit")
    }
}

extension ValidationError {
    var apiError: APIError { APIError(validation: self) }
}
