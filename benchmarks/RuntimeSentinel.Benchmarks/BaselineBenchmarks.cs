using BenchmarkDotNet.Attributes;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Benchmarks;

/// <summary>Scoring an event against an active baseline: the per-event cost of detection.</summary>
[MemoryDiagnoser]
public class BaselineBenchmarks
{
    private readonly List<Finding> _findings = new(4);
    private readonly DateTimeOffset _now = new(2026, 11, 29, 13, 0, 0, TimeSpan.Zero);
    private WorkloadBaseline _baseline = null!;
    private string _path = null!;

    [GlobalSetup]
    public void Setup()
    {
        _baseline = new WorkloadBaseline(new DetectionOptions { LearningDuration = TimeSpan.Zero, MinLearningEvents = 3 }, _now.AddHours(-1));
        _path = PathNormalizer.Normalize(Samples.FileEvent.FilePath!);
        foreach (var e in new[] { Samples.ExecEvent, Samples.FileEvent, Samples.ConnectEvent })
        {
            _baseline.Observe(e, e.FilePath is null ? null : _path, _now.AddMinutes(-30), _findings);
        }
    }

    [Benchmark]
    public int ScoreKnownExec()
    {
        _baseline.Observe(Samples.ExecEvent, null, _now, _findings);
        return _findings.Count;
    }

    [Benchmark]
    public int ScoreKnownFile()
    {
        _baseline.Observe(Samples.FileEvent, _path, _now, _findings);
        return _findings.Count;
    }

    [Benchmark]
    public int ScoreKnownConnect()
    {
        _baseline.Observe(Samples.ConnectEvent, null, _now, _findings);
        return _findings.Count;
    }
}
