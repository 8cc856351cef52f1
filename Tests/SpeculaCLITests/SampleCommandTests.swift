import Foundation
import SpeculaCore
import SpeculaModel
import Testing

/// Monte Carlo through the real command: `specula sample` must agree with its own `--exact` law
/// (chi-square), and a lossy verifier must be caught the same way.
struct SampleCommandTests {
    @Test func monteCarloSamplesMatchTheTargetLaw() throws {
        let toys = try ToyFiles(vocabulary: 3, order: 3, seed: 4)
        let exact = try ToyFiles.law(try CLI.run(toys.arguments(verifier: "multidraft-block") + ["--target-law"]))
        let samples = try CLI.run(toys.arguments(verifier: "multidraft-block") + ["--samples", "20000", "--seed", "11"])
        let test = ChiSquare(expected: exact, observedLines: samples)
        // False-alarm rate: the statistic is compared to the 1 − 1e-4 quantile.
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic) with \(test.degreesOfFreedom) dof")
    }

    @Test func monteCarloCatchesThePublishedSpecTrGBV() throws {
        let toys = try ToyFiles(vocabulary: 3, order: 3, seed: 4)
        let exact = try ToyFiles.law(try CLI.run(toys.arguments(verifier: "spectr-gbv-published") + ["--target-law"]))
        let samples = try CLI.run(toys.arguments(verifier: "spectr-gbv-published") + ["--samples", "20000", "--seed", "11"])
        let test = ChiSquare(expected: exact, observedLines: samples)
        #expect(!test.passes(alpha: 1e-4), "the lossy verifier passed: chi-square \(test.statistic)")
    }

    @Test func exactLawOfTheDefaultVerifierEqualsTheTargetLaw() throws {
        let toys = try ToyFiles(vocabulary: 3, order: 3, seed: 4)
        let exact = try ToyFiles.law(try CLI.run(toys.arguments(verifier: "multidraft-block") + ["--exact"]))
        let target = try ToyFiles.law(try CLI.run(toys.arguments(verifier: "multidraft-block") + ["--target-law"]))
        #expect(ExactAnalysis.totalVariation(exact, target) < 1e-12)
    }

    @Test func differentSeedsGiveDifferentSamples() throws {
        let toys = try ToyFiles(vocabulary: 4, order: 2, seed: 8)
        let a = try CLI.run(toys.arguments(verifier: "block") + ["--samples", "50", "--seed", "1"])
        let b = try CLI.run(toys.arguments(verifier: "block") + ["--samples", "50", "--seed", "2"])
        let a2 = try CLI.run(toys.arguments(verifier: "block") + ["--samples", "50", "--seed", "1"])
        #expect(a != b)
        #expect(a == a2, "the same seed must reproduce the same samples")
    }

    @Test func unknownVerifierIsRejectedWithItsName() throws {
        let toys = try ToyFiles(vocabulary: 3, order: 3, seed: 4)
        let result = try CLI.runAllowingFailure(toys.arguments(verifier: "nonsense"))
        #expect(result.status == 64)
        #expect(result.stderr.contains("The value 'nonsense' is invalid for '--verifier") && result.stderr.contains("multidraft-block"),
                "stderr: \(result.stderr)")
    }

    @Test func malformedModelFileIsRejectedWithAClearMessage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("specula-bad-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json")
        try Data(#"{"kind":"ngram","vocab_size":2,"order":1,"table":{"":[0.5,0.6]}}"#.utf8).write(to: bad)
        let result = try CLI.runAllowingFailure(["sample", "--target", bad.path, "--draft", bad.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("sums to 1.1"), "stderr: \(result.stderr)")
    }
}

/// A random toy pair written to temporary JSON files, removed when the last reference goes.
final class ToyFiles: Sendable {
    let target: URL
    let draft: URL
    /// A second draft table for the same target (`RandomToyModels.secondDraft`): another law.
    let secondDraft: URL
    private let directory: URL

    /// `eos`: the pair's end-of-sequence token, if any.
    init(vocabulary: Int, order: Int, seed: UInt64, eos: Token? = nil) throws {
        let pair = RandomToyModels.pair(vocabularySize: vocabulary, order: order, seed: seed, endOfSequence: eos)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("specula-toys-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directory = dir
        target = dir.appendingPathComponent("target.json")
        draft = dir.appendingPathComponent("draft.json")
        try pair.target.jsonData().write(to: target)
        try pair.draft.jsonData().write(to: draft)
        secondDraft = dir.appendingPathComponent("second-draft.json")
        try RandomToyModels.secondDraft(vocabularySize: vocabulary, order: order, seed: seed, endOfSequence: eos).jsonData().write(to: secondDraft)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func arguments(verifier: String) -> [String] {
        ["sample", "--target", target.path, "--draft", draft.path, "--verifier", verifier,
         "--drafts", "3", "--block", "2", "--prompt-tokens", "0,1", "--max-tokens", "3"]
    }

    /// Parses `ids<TAB>probability` lines.
    static func law(_ text: String) throws -> [[Token]: Double] {
        var law: [[Token]: Double] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            let tokens = parts[0].split(separator: ",").map { Int($0)! }
            law[tokens] = Double(parts[1])!
        }
        return law
    }
}
