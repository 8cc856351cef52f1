/// Splits a byte stream into frames: a 4-byte big-endian length, then that many payload bytes.
///
/// Incremental: bytes may arrive split or joined at any point. The length prefix is checked
/// against `maxFrameSize` before anything is reserved for the payload, so a hostile prefix cannot
/// make the process allocate. After an error the decoder stays failed (the connection is closed).
package struct FrameDecoder {
    package let maxFrameSize: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: FrameError?

    package init(maxFrameSize: Int = WireProtocol.defaultMaxFrameSize) {
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes received but not yet returned as frames.
    package var bufferedByteCount: Int { buffer.count - start }

    /// Adds received bytes.
    package mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame's payload, nil when more bytes are needed.
    package mutating func nextFrame() throws(FrameError) -> ArraySlice<UInt8>? {
        if let failure { throw failure }
        guard bufferedByteCount >= 4 else { return nil }
        let length = buffer[start..<start + 4].reduce(0) { $0 << 8 | Int($1) }
        guard length <= maxFrameSize else {
            let error = FrameError.frameTooLarge(length: length, limit: maxFrameSize)
            failure = error
            throw error
        }
        guard bufferedByteCount >= 4 + length else { return nil }
        let payload = buffer[start + 4..<start + 4 + length]
        start += 4 + length
        return payload
    }

    /// The next complete frame decoded as a message, nil when more bytes are needed.
    package mutating func nextMessage() throws(FrameError) -> Message? {
        guard let payload = try nextFrame() else { return nil }
        do {
            return try MessageCodec.decode(payload)
        } catch {
            failure = error
            throw error
        }
    }
}

/// Builds frames.
package enum FrameEncoder {
    /// `message` as one frame: 4-byte big-endian payload length, then the `Envelope`.
    package static func frame(_ message: Message) -> [UInt8] {
        var bytes = MessageCodec.encode(message, reservingPrefix: 4)
        let length = UInt32(bytes.count - 4)
        bytes[0] = UInt8(length >> 24)
        bytes[1] = UInt8((length >> 16) & 0xFF)
        bytes[2] = UInt8((length >> 8) & 0xFF)
        bytes[3] = UInt8(length & 0xFF)
        return bytes
    }
}
