using BenchmarkDotNet.Attributes;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Native;

namespace RuntimeSentinel.Benchmarks;

/// <summary>Decoding native events from UTF-8. Steady state: strings come from the intern cache, so no allocation.</summary>
[MemoryDiagnoser]
public class DecodeBenchmarks
{
    private readonly EventDecoder _decoder = new();

    [GlobalSetup]
    public void Setup()
    {
        // Warm the intern caches as a long-running consumer would have.
        Decode(Samples.Exec);
        Decode(Samples.File);
        Decode(Samples.Connect);
    }

    [Benchmark]
    public EventKind DecodeProcessExec() => Decode(Samples.Exec);

    [Benchmark]
    public EventKind DecodeFileOpen() => Decode(Samples.File);

    [Benchmark]
    public EventKind DecodeNetConnect() => Decode(Samples.Connect);

    private EventKind Decode(byte[] bytes) =>
        _decoder.TryDecode(bytes, out var e, out var error) ? e.Kind : throw new InvalidOperationException(error.ToString());
}
