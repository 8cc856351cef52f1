internal import CUV
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The one file that imports libuv. Everything here runs on the loop thread (see `EventLoop`),
// except `UVAsync.send()`, libuv's only thread-safe call. Each wrapper owns its uv handle and keeps
// itself alive (a retained `handle->data`) until libuv's close callback, so a handle can never be
// freed while libuv still uses it. Pointers never leave this file.

/// A libuv call failed: names the function and libuv's error.
package struct UVError: Error, CustomStringConvertible, Equatable {
    package let function: String
    package let code: Int32

    package var description: String {
        "\(function) failed: \(String(cString: uv_strerror(code))) (\(String(cString: uv_err_name(code))))"
    }

    /// True for the end-of-stream "error" a read reports when the peer closed cleanly.
    package var isEndOfFile: Bool { code == UV_EOF.rawValue }

    static func check(_ code: Int32, _ function: String) throws(UVError) {
        if code < 0 { throw UVError(function: function, code: code) }
    }
}

/// A libuv loop. Owned by `EventLoop`; run on its thread only.
final class UVLoop {
    fileprivate let raw: UnsafeMutablePointer<uv_loop_t>

    init() throws(UVError) {
        raw = .allocate(capacity: 1)
        do { try UVError.check(uv_loop_init(raw), "uv_loop_init") } catch {
            raw.deallocate()
            throw error
        }
    }

    /// Runs until no active handle is left.
    func run() { uv_run(raw, UV_RUN_DEFAULT) }

    /// Frees the loop; every handle must have been closed and `run` returned.
    func destroy() {
        uv_run(raw, UV_RUN_DEFAULT)  // let pending close callbacks run
        uv_loop_close(raw)
        raw.deallocate()
    }

    /// Milliseconds since an arbitrary point, cached per loop iteration.
    var nowMilliseconds: UInt64 { uv_now(raw) }

    /// High-resolution monotonic time in nanoseconds.
    static var monotonicNanoseconds: UInt64 { uv_hrtime() }
}

/// Base of every handle wrapper: storage, self-retention and closing.
// @unchecked Sendable invariant: a handle is only ever used on its loop's thread; it is Sendable
// only so that work submitted to that thread can carry it there.
class UVHandle: @unchecked Sendable {
    fileprivate let storage: UnsafeMutableRawPointer
    private var onClosed: (() -> Void)?
    private(set) var isClosing = false

    fileprivate init(size: Int) {
        storage = calloc(1, size)!
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    fileprivate var handle: UnsafeMutablePointer<uv_handle_t> { storage.assumingMemoryBound(to: uv_handle_t.self) }

    /// Closes the handle; `completion` runs once libuv has let go of it. Safe to call twice.
    func close(_ completion: (() -> Void)? = nil) {
        guard !isClosing else { return }
        isClosing = true
        onClosed = completion
        uv_close(handle) { handle in
            let wrapper = Unmanaged<UVHandle>.fromOpaque(handle!.pointee.data).takeRetainedValue()
            wrapper.didClose()
            wrapper.onClosed?()
            wrapper.onClosed = nil
            free(handle)
        }
    }

    /// Hook for subclasses to release what they own; called from the close callback.
    fileprivate func didClose() {}

    fileprivate static func wrapper<T: UVHandle>(_ pointer: UnsafeMutableRawPointer?, as type: T.Type) -> T {
        let handle = pointer!.assumingMemoryBound(to: uv_handle_t.self)
        return Unmanaged<UVHandle>.fromOpaque(handle.pointee.data).takeUnretainedValue() as! T
    }
}

/// `uv_async_t`: wakes the loop from another thread.
final class UVAsync: UVHandle, @unchecked Sendable {
    private let callback: () -> Void

    init(loop: UVLoop, callback: @escaping () -> Void) throws(UVError) {
        self.callback = callback
        super.init(size: MemoryLayout<uv_async_t>.size)
        let code = uv_async_init(loop.raw, storage.assumingMemoryBound(to: uv_async_t.self)) { async in
            UVHandle.wrapper(UnsafeMutableRawPointer(async), as: UVAsync.self).callback()
        }
        try UVError.check(code, "uv_async_init")
    }

    /// Thread-safe: schedules the callback on the loop thread (calls coalesce).
    func send() { uv_async_send(storage.assumingMemoryBound(to: uv_async_t.self)) }
}

/// `uv_timer_t`.
final class UVTimer: UVHandle, @unchecked Sendable {
    private var callback: (() -> Void)?

    init(loop: UVLoop) throws(UVError) {
        super.init(size: MemoryLayout<uv_timer_t>.size)
        try UVError.check(uv_timer_init(loop.raw, storage.assumingMemoryBound(to: uv_timer_t.self)), "uv_timer_init")
    }

    /// Fires after `milliseconds`, then every `repeatMilliseconds` (0: once).
    func start(after milliseconds: UInt64, repeat repeatMilliseconds: UInt64 = 0, _ callback: @escaping () -> Void) {
        self.callback = callback
        uv_timer_start(storage.assumingMemoryBound(to: uv_timer_t.self), { timer in
            UVHandle.wrapper(UnsafeMutableRawPointer(timer), as: UVTimer.self).callback?()
        }, milliseconds, repeatMilliseconds)
    }

    func stop() { uv_timer_stop(storage.assumingMemoryBound(to: uv_timer_t.self)) }

    override fileprivate func didClose() { callback = nil }
}

/// `uv_signal_t`: a POSIX signal delivered on the loop thread.
final class UVSignal: UVHandle, @unchecked Sendable {
    private let callback: (Int32) -> Void

    init(loop: UVLoop, signal: Int32, callback: @escaping (Int32) -> Void) throws(UVError) {
        self.callback = callback
        super.init(size: MemoryLayout<uv_signal_t>.size)
        let raw = storage.assumingMemoryBound(to: uv_signal_t.self)
        try UVError.check(uv_signal_init(loop.raw, raw), "uv_signal_init")
        try UVError.check(uv_signal_start(raw, { handle, signum in
            UVHandle.wrapper(UnsafeMutableRawPointer(handle), as: UVSignal.self).callback(signum)
        }, signal), "uv_signal_start")
        // Do not keep the loop alive just to wait for a signal.
        uv_unref(handle)
    }
}

/// `uv_tcp_t`: a listening socket or a connection.
final class UVTCP: UVHandle, @unchecked Sendable {
    private let loop: UVLoop
    private var onConnection: ((UVError?) -> Void)?
    private var onRead: ((Result<[UInt8], UVError>) -> Void)?
    private var readBuffer: UnsafeMutableRawPointer?
    private static let readBufferSize = 64 * 1024

    init(loop: UVLoop) throws(UVError) {
        self.loop = loop
        super.init(size: MemoryLayout<uv_tcp_t>.size)
        try UVError.check(uv_tcp_init(loop.raw, tcp), "uv_tcp_init")
    }

    private var tcp: UnsafeMutablePointer<uv_tcp_t> { storage.assumingMemoryBound(to: uv_tcp_t.self) }
    private var stream: UnsafeMutablePointer<uv_stream_t> { storage.assumingMemoryBound(to: uv_stream_t.self) }

    /// Binds to `host:port` (numeric IPv4/IPv6 or a name resolved once, synchronously).
    func bind(host: String, port: Int) throws(UVError) {
        let address = try SocketAddress(host: host, port: port)
        try address.withSockaddr { pointer throws(UVError) in
            try UVError.check(uv_tcp_bind(tcp, pointer, 0), "uv_tcp_bind(\(host):\(port))")
        }
    }

    /// Starts listening; `onConnection` runs once per incoming connection (call `accept`).
    func listen(backlog: Int32 = 511, onConnection: @escaping (UVError?) -> Void) throws(UVError) {
        self.onConnection = onConnection
        try UVError.check(uv_listen(stream, backlog) { server, status in
            let listener = UVHandle.wrapper(UnsafeMutableRawPointer(server), as: UVTCP.self)
            listener.onConnection?(status < 0 ? UVError(function: "uv_listen callback", code: status) : nil)
        }, "uv_listen")
    }

    /// Accepts a pending connection into a new handle.
    func accept() throws(UVError) -> UVTCP {
        let client = try UVTCP(loop: loop)
        do { try UVError.check(uv_accept(stream, client.stream), "uv_accept") } catch {
            client.close()
            throw error
        }
        return client
    }

    /// Connects to `host:port`; `completion` gets nil on success.
    func connect(host: String, port: Int, completion: @escaping (UVError?) -> Void) throws(UVError) {
        let address = try SocketAddress(host: host, port: port)
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(ConnectCompletion(completion)).toOpaque()
        let code = address.withSockaddr { pointer in
            uv_tcp_connect(request, tcp, pointer) { request, status in
                let box = Unmanaged<ConnectCompletion>.fromOpaque(request!.pointee.data).takeRetainedValue()
                request!.deallocate()
                box.completion(status < 0 ? UVError(function: "uv_tcp_connect", code: status) : nil)
            }
        }
        if code < 0 {
            Unmanaged<ConnectCompletion>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            throw UVError(function: "uv_tcp_connect", code: code)
        }
    }

    /// Disables Nagle's algorithm: frames go out at once.
    func setNoDelay() throws(UVError) { try UVError.check(uv_tcp_nodelay(tcp, 1), "uv_tcp_nodelay") }

    /// The locally bound port (after `bind` or `connect`).
    var localPort: Int {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let code = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(tcp, $0, &length) }
        }
        return code < 0 ? 0 : SocketAddress.port(of: storage)
    }

    /// The peer's "host:port", for logs.
    var peerDescription: String {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let code = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(tcp, $0, &length) }
        }
        return code < 0 ? "unknown" : SocketAddress.describe(storage)
    }

    /// Delivers received bytes (a copy) or the error/EOF that ended the stream.
    func startReading(_ onRead: @escaping (Result<[UInt8], UVError>) -> Void) throws(UVError) {
        self.onRead = onRead
        if readBuffer == nil { readBuffer = malloc(UVTCP.readBufferSize) }
        try UVError.check(uv_read_start(stream, { handle, _, buffer in
            let connection = UVHandle.wrapper(UnsafeMutableRawPointer(handle), as: UVTCP.self)
            buffer!.pointee = uv_buf_init(connection.readBuffer!.assumingMemoryBound(to: CChar.self), UInt32(UVTCP.readBufferSize))
        }, { stream, count, buffer in
            let connection = UVHandle.wrapper(UnsafeMutableRawPointer(stream), as: UVTCP.self)
            if count > 0 {
                let bytes = Array(UnsafeRawBufferPointer(start: buffer!.pointee.base, count: count))
                connection.onRead?(.success(bytes))
            } else if count < 0 {
                connection.onRead?(.failure(UVError(function: "read", code: Int32(count))))
            }
        }), "uv_read_start")
    }

    /// Writes `bytes`; they are copied into memory that lives until libuv's write callback, which
    /// then calls `completion` (nil on success).
    func write(_ bytes: [UInt8], completion: @escaping (UVError?) -> Void) {
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        let box = WriteCompletion(bytes: bytes, completion: completion)
        request.pointee.data = Unmanaged.passRetained(box).toOpaque()
        var buffer = uv_buf_init(box.memory.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let code = uv_write(request, stream, &buffer, 1) { request, status in
            let box = Unmanaged<WriteCompletion>.fromOpaque(request!.pointee.data).takeRetainedValue()
            request!.deallocate()
            box.completion(status < 0 ? UVError(function: "uv_write", code: status) : nil)
        }
        if code < 0 {
            Unmanaged<WriteCompletion>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            completion(UVError(function: "uv_write", code: code))
        }
    }

    override fileprivate func didClose() {
        onRead = nil
        onConnection = nil
        if let readBuffer { free(readBuffer) }
        readBuffer = nil
    }
}

/// The bytes of one `uv_write`, alive until its callback.
private final class WriteCompletion {
    let memory: UnsafeMutableRawPointer
    let completion: (UVError?) -> Void

    init(bytes: [UInt8], completion: @escaping (UVError?) -> Void) {
        let memory = malloc(max(bytes.count, 1))!
        if !bytes.isEmpty { bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) } }
        self.memory = memory
        self.completion = completion
    }

    deinit { free(memory) }
}

/// The completion of one `uv_tcp_connect`.
private final class ConnectCompletion {
    let completion: (UVError?) -> Void
    init(_ completion: @escaping (UVError?) -> Void) { self.completion = completion }
}

/// An IPv4 or IPv6 socket address.
private struct SocketAddress {
    private var storage = sockaddr_storage()

    init(host: String, port: Int) throws(UVError) {
        guard (0...65535).contains(port) else { throw UVError(function: "address \(host):\(port)", code: UV_EINVAL.rawValue) }
        var v4 = sockaddr_in()
        if uv_ip4_addr(host, Int32(port), &v4) == 0 {
            withUnsafeBytes(of: v4) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
            return
        }
        var v6 = sockaddr_in6()
        if uv_ip6_addr(host, Int32(port), &v6) == 0 {
            withUnsafeBytes(of: v6) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
            return
        }
        // A name: resolve once, synchronously (start-up only).
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &result)
        guard code == 0, let first = result, let address = first.pointee.ai_addr else {
            throw UVError(function: "getaddrinfo(\(host))", code: UV_EAI_NONAME.rawValue)
        }
        defer { freeaddrinfo(result) }
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(first.pointee.ai_addrlen))) }
    }

    func withSockaddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>) throws(E) -> R) throws(E) -> R {
        var copy = storage
        return try withUnsafePointer(to: &copy) { pointer throws(E) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer throws(E) in try body(pointer) }
        }
    }

    static func port(of storage: sockaddr_storage) -> Int {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            if Int32(storage.ss_family) == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    static func describe(_ storage: sockaddr_storage) -> String {
        var copy = storage
        var name = [CChar](repeating: 0, count: 64)
        withUnsafePointer(to: &copy) { pointer in
            if Int32(storage.ss_family) == AF_INET6 {
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { _ = uv_ip6_name($0, &name, name.count) }
            } else {
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { _ = uv_ip4_name($0, &name, name.count) }
            }
        }
        let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(text):\(port(of: storage))"
    }
}

/// Ignore SIGPIPE: a write to a closed socket must come back as an error, not kill the process.
func ignoreBrokenPipeSignal() {
    signal(SIGPIPE, SIG_IGN)
}
