import Testing

/// The CLI's help and error text, verbatim where users rely on it.
struct HelpTests {
    @Test func topLevelHelpListsEverySubcommand() throws {
        let help = try CLI.run(["--help"])
        #expect(help.hasPrefix("OVERVIEW: A distributed speculative-decoding cluster."))
        for command in ["coordinator", "draft", "generate", "sample", "loadtest", "bench", "demo", "models"] {
            #expect(help.contains("\n  \(command) "), "missing subcommand \(command)")
        }
        #expect(help.contains("Add draft workers: specula draft --model qwen2.5-coder-0.5b"))
    }

    @Test func unknownFlagsExitNonZeroNamingTheFlag() throws {
        let result = try CLI.runAllowingFailure(["models", "list", "--no-such-flag"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Unknown option '--no-such-flag'"), "stderr: \(result.stderr)")
    }

    @Test func aCoordinatorOnAPublicAddressNeedsASecret() throws {
        let result = try CLI.runAllowingFailure(["coordinator", "--model", "x.json", "--host", "0.0.0.0"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("give a shared secret (--auth-secret-file or SPECULA_AUTH_SECRET), or pass --insecure"),
                "stderr: \(result.stderr)")
    }

    @Test func aLoadTestWithNoCoordinatorFailsClearly() throws {
        let result = try CLI.runAllowingFailure(["loadtest", "--coordinator", "127.0.0.1:1", "--requests", "1", "--quiet"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot reach the server"), "stderr: \(result.stderr)")
    }

    @Test func loadTestFlagsAreValidated() throws {
        for bad in [["--output-tokens", "9-3"], ["--sweep", "1,x"], ["--concurrency", "0"], ["--mode", "bursty"]] {
            let result = try CLI.runAllowingFailure(["loadtest", "--quiet"] + bad)
            #expect(result.status == 64, "\(bad): \(result.stderr)")
        }
    }

    @Test func aRequestLongerThanTheContextIsRefused() throws {
        // SmolLM2's context is 8,192 tokens (fetched by `make test`): its KV cache never grows past it.
        let result = try CLI.runAllowingFailure(["generate", "--local", "--target", "smollm2-135m", "--no-draft", "--max-tokens", "9000", "hi"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("max_tokens: the prompt (1 tokens) + max_tokens (9000) exceeds the context length 8192"),
                "stderr: \(result.stderr)")
    }

    @Test func aMissingModelFileIsAClearError() throws {
        let result = try CLI.runAllowingFailure(["coordinator", "--model", "/nonexistent/model.gguf", "--port", "0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/model.gguf"), "stderr: \(result.stderr)")
    }

    @Test func draftOutputHeadsAreValidated() throws {
        for bad in ["candidates:0", "candidates:x", "q8"] {
            let result = try CLI.runAllowingFailure(["draft", "--model", "synthetic:vocab=8", "--output-head", bad])
            #expect(result.status == 64, "\(bad): \(result.stderr)")
            #expect(result.stderr.contains("--output-head"), "\(bad): \(result.stderr)")
        }
        // A head for a model without an output matrix: refused before connecting anywhere.
        let result = try CLI.runAllowingFailure(["draft", "--model", "synthetic:vocab=8", "--output-head", "candidates", "--coordinator", "127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("applies to GGUF models only"), "stderr: \(result.stderr)")
    }
}
