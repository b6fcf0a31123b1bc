using BenchmarkDotNet.Attributes;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Benchmarks;

/// <summary>The per-event cost of the models in an active workload: window accounting and online sequence scoring.</summary>
[MemoryDiagnoser]
public class ModelBenchmarks
{
    private static readonly string[] Calls = ["read", "write", "epoll_wait", "sendto", "recvfrom", "close"];
    private readonly List<Finding> _findings = new(2);
    private readonly DateTimeOffset _now = new(2026, 11, 29, 13, 0, 0, TimeSpan.Zero);
    private ModelRuntime _runtime = null!;
    private RuntimeEvent[] _syscalls = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var options = new ModelOptions { ShadowDuration = TimeSpan.Zero };
        var rng = new Random(1);
        var windows = Enumerable.Range(0, 200)
            .Select(i => (BehaviourSchema.Features.Select(_ => (float)rng.NextDouble()).ToArray(), _now.AddHours(-1).AddSeconds(10 * i)))
            .ToList();
        var traces = Enumerable.Range(0, 20)
            .Select(_ => ((string?)Samples.ExecEvent.Process.Exe, Enumerable.Range(0, 600).Select(i => (i + rng.Next(2)) % Calls.Length).ToArray()))
            .ToList();
        var model = ModelTrainer.Build("bench", "v1", "bench", options, 1, new TrainingSet(windows, traces, Calls, _now.AddHours(-1), _now, 10_000))
            ?? throw new InvalidOperationException("no model");
        _runtime = new ModelRuntime("bench", options, 1);
        _runtime.Swap(model);
        _syscalls = Calls.Select(c => Samples.ExecEvent with { Kind = EventKind.Syscall, SyscallName = c, Timestamp = _now }).ToArray();

        // Fill the process stream so every call is scored.
        for (var i = 0; i < 64; i++)
        {
            ObserveSyscall();
        }
    }

    [Benchmark]
    public int ObserveSyscall()
    {
        _runtime.Observe(_syscalls[_next++ % _syscalls.Length], known: true, BaselinePhase.Active, _now, _findings);
        _findings.Clear();
        return _findings.Count;
    }

    [Benchmark]
    public int ObserveExec()
    {
        _runtime.Observe(Samples.ExecEvent, known: true, BaselinePhase.Active, _now, _findings);
        _findings.Clear();
        return _findings.Count;
    }
}
