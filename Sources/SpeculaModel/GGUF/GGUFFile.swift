package import SpeculaKernels
#if canImport(Glibc)
import Glibc
#endif

/// A GGUF v2/v3 file, memory-mapped: metadata parsed, tensor data left in place.
///
/// Layout (llama.cpp `gguf` docs): magic "GGUF", version, tensor count, metadata count, metadata
/// key/values, tensor infos (name, dims, type, offset), padding to `general.alignment` (default
/// 32), tensor data. The weights are never copied at load: tensors are views into the mapping.
package final class GGUFFile: @unchecked Sendable {
    // @unchecked Sendable invariant: immutable after init; `base` is a read-only mapping owned by
    // this object (unmapped in deinit), so tensor views stay valid while the file is alive.
    package let path: String
    package let version: UInt32
    package let metadata: [String: GGUFValue]
    package let tensors: [String: TensorInfo]
    /// Tensor names in file order.
    package let tensorNames: [String]
    /// The mapping and its size.
    let base: UnsafeRawPointer
    package let size: Int

    /// One tensor's description.
    package struct TensorInfo: Sendable {
        package let name: String
        /// Dimensions, fastest-varying first (ggml's `ne`).
        package let dimensions: [Int]
        package let type: GGMLType
        /// Offset of the data from the start of the file.
        package let offset: Int
        package let byteCount: Int
        package var elementCount: Int { dimensions.reduce(1, *) }
    }

    package init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        guard size >= 4 else { throw .notGGUF(path: path) }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw .unreadable(path: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        let parsed: Parsed
        do {
            parsed = try Parsed(base: UnsafeRawPointer(mapping), size: size, path: path)
        } catch {
            munmap(mapping, size)
            throw error
        }
        self.base = UnsafeRawPointer(mapping)
        self.size = size
        self.version = parsed.version
        self.metadata = parsed.metadata
        self.tensors = parsed.tensors
        self.tensorNames = parsed.tensorNames
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    package func int(_ key: String) throws(GGUFError) -> Int {
        guard let v = metadata[key]?.intValue else { throw .missingMetadata(key: key, path: path) }
        return v
    }

    package func double(_ key: String) throws(GGUFError) -> Double {
        guard let v = metadata[key]?.doubleValue else { throw .missingMetadata(key: key, path: path) }
        return v
    }

    package func string(_ key: String) throws(GGUFError) -> String {
        guard let v = metadata[key]?.stringValue else { throw .missingMetadata(key: key, path: path) }
        return v
    }

    package func tensor(_ name: String) throws(GGUFError) -> TensorInfo {
        guard let t = tensors[name] else { throw .missingTensor(name: name, path: path) }
        return t
    }

    /// The bytes of `tensor`, valid while this file is alive. Engine-internal.
    func pointer(to tensor: TensorInfo) -> UnsafeRawPointer { base + tensor.offset }

    /// Lets the system drop the resident pages wholly inside `byteCount` bytes at `start` (the
    /// file's bytes of a tensor the engine has copied elsewhere): they stop counting in this
    /// process's memory and are read back from the file if touched again. Engine-internal.
    func releasePages(_ start: UnsafeRawPointer, byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + byteCount) / page * page
        guard end > first else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED)
    }
}

/// The parsed header of a GGUF file.
private struct Parsed {
    let version: UInt32
    let metadata: [String: GGUFValue]
    let tensors: [String: GGUFFile.TensorInfo]
    let tensorNames: [String]

    init(base: UnsafeRawPointer, size: Int, path: String) throws(GGUFError) {
        var reader = GGUFReader(base: base, size: size, path: path)
        guard try reader.bytes(4) == Array("GGUF".utf8) else { throw .notGGUF(path: path) }
        version = try reader.u32()
        guard version == 2 || version == 3 else { throw .unsupportedVersion(path: path, version: version) }
        let tensorCount = try reader.count(reader.u64(), "tensor count")
        let metadataCount = try reader.count(reader.u64(), "metadata count")
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<metadataCount {
            let key = try reader.string()
            metadata[key] = try reader.value(type: reader.u32(), depth: 0)
        }
        var infos: [(String, [Int], UInt32, Int)] = []
        for _ in 0..<tensorCount {
            let name = try reader.string()
            let dimensionCount = try reader.u32()
            guard dimensionCount <= 4 else { throw .malformed(path: path, reason: "tensor \(name) has \(dimensionCount) dimensions") }
            var dimensions: [Int] = []
            for _ in 0..<dimensionCount { dimensions.append(try reader.count(reader.u64(), "dimension of \(name)")) }
            infos.append((name, dimensions, try reader.u32(), try reader.count(reader.u64(), "offset of \(name)")))
        }
        let alignment = metadata["general.alignment"]?.intValue ?? 32
        guard alignment > 0 && alignment & (alignment - 1) == 0 else { throw .malformed(path: path, reason: "alignment \(alignment) is not a power of two") }
        let dataOffset = (reader.offset + alignment - 1) / alignment * alignment
        var tensors: [String: GGUFFile.TensorInfo] = [:]
        for (name, dimensions, rawType, offset) in infos {
            guard let type = GGMLType(rawValue: rawType) else { throw .unsupportedType(tensor: name, type: rawType, path: path) }
            let elements = dimensions.reduce(1, *)
            guard elements % type.blockSize == 0 else { throw .malformed(path: path, reason: "tensor \(name) has \(elements) elements, not a multiple of \(type.blockSize)") }
            let bytes = type.byteCount(elements: elements)
            let start = dataOffset + offset
            guard start + bytes <= size else { throw .truncated(path: path, at: start, needed: bytes, size: size) }
            tensors[name] = GGUFFile.TensorInfo(name: name, dimensions: dimensions, type: type, offset: start, byteCount: bytes)
        }
        self.metadata = metadata
        self.tensors = tensors
        self.tensorNames = infos.map(\.0)
    }
}

/// Little-endian reads with bounds checks over the mapping.
private struct GGUFReader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    var offset = 0

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    func need(_ n: Int) throws(GGUFError) {
        guard n >= 0, offset + n <= size else { throw .truncated(path: path, at: offset, needed: n, size: size) }
    }

    mutating func bytes(_ n: Int) throws(GGUFError) -> [UInt8] {
        try need(n)
        defer { offset += n }
        return Array(UnsafeRawBufferPointer(start: base + offset, count: n))
    }

    mutating func integer<T: FixedWidthInteger>(_ type: T.Type) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size)
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func u32() throws(GGUFError) -> UInt32 { try integer(UInt32.self) }
    mutating func u64() throws(GGUFError) -> UInt64 { try integer(UInt64.self) }

    /// A count that must fit the file (guards against absurd lengths before allocating).
    func count(_ value: UInt64, _ what: String) throws(GGUFError) -> Int {
        guard value <= UInt64(size) else { throw .malformed(path: path, reason: "\(what) \(value) exceeds the file size") }
        return Int(value)
    }

    mutating func string() throws(GGUFError) -> String {
        let length = try count(u64(), "string length")
        try need(length)
        defer { offset += length }
        return String(decoding: UnsafeRawBufferPointer(start: base + offset, count: length), as: UTF8.self)
    }

    mutating func value(type: UInt32, depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try integer(UInt8.self)))
        case 1: return .int(Int64(try integer(Int8.self)))
        case 2: return .uint(UInt64(try integer(UInt16.self)))
        case 3: return .int(Int64(try integer(Int16.self)))
        case 4: return .uint(UInt64(try integer(UInt32.self)))
        case 5: return .int(Int64(try integer(Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try integer(UInt32.self))))
        case 7: return .bool(try integer(UInt8.self) != 0)
        case 8: return .string(try string())
        case 9:
            guard depth < 4 else { throw .malformed(path: path, reason: "arrays nested too deeply") }
            let elementType = try u32()
            let n = try count(u64(), "array length")
            var values: [GGUFValue] = []
            values.reserveCapacity(n)
            for _ in 0..<n { values.append(try value(type: elementType, depth: depth + 1)) }
            return .array(values)
        case 10: return .uint(try integer(UInt64.self))
        case 11: return .int(try integer(Int64.self))
        case 12: return .float(Double(bitPattern: try integer(UInt64.self)))
        default: throw .malformed(path: path, reason: "unknown metadata value type \(type) at offset \(offset)")
        }
    }
}
