import CompressNIO
import Hummingbird
import NIOCore
import SyftProxyCore

enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        value.write(to: &bytes)
        var fields = headers
        fields[.contentType] = "application/json"
        var buffer = ByteBuffer(bytes: bytes)
        if bytes.count >= ResponseCompression.minimumBytes {
            fields[.vary] = "Accept-Encoding"
            var source = buffer
            if ResponseCompression.acceptsGzip, let compressed = try? source.compress(with: .gzip()) {
                buffer = compressed
                fields[.contentEncoding] = "gzip"
            }
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
    }
}
