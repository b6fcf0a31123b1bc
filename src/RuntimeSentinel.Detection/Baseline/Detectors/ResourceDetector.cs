using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>CPU and memory samples against the running mean and deviation learned for the workload (z-scores).</summary>
internal sealed class ResourceDetector(DetectionOptions options) : IEventDetector
{
    private static readonly string[] Raised = [AlertCategories.ResourceAnomaly];

    public const string DetectorName = "resource";

    private RunningStats _cpu;
    private RunningStats _memory;

    public string Name => DetectorName;

    public IReadOnlyList<string> Categories => Raised;

    public void Learn(in RuntimeEvent e, DetectorContext ctx)
    {
        if (e.Kind != EventKind.ResourceUsage)
        {
            return;
        }

        if (e.Resource.CpuCores >= 0)
        {
            _cpu.Add(e.Resource.CpuCores);
        }

        if (e.Resource.MemoryBytes >= 0)
        {
            _memory.Add(e.Resource.MemoryBytes);
        }
    }

    public void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
    {
        if (e.Kind != EventKind.ResourceUsage)
        {
            return;
        }

        var r = e.Resource;
        if (r.CpuCores >= 0 && _cpu.Count >= options.ResourceMinSamples)
        {
            // The floor keeps a perfectly flat learned series from turning any wiggle into an infinite z-score.
            var sd = Math.Max(_cpu.StdDev, Math.Max(0.05 * _cpu.Mean, 0.02));
            var z = (r.CpuCores - _cpu.Mean) / sd;
            if (z > options.ResourceZThreshold && !ctx.Cooldowns.IsCoolingDown(Feature.Resource, new FeatureKey("cpu"), ctx.Now))
            {
                findings.Add(Finding.OfItem(
                    Feature.Resource, new FeatureKey("cpu"), AlertCategories.ResourceAnomaly, z > 2 * options.ResourceZThreshold ? Severity.High : Severity.Medium,
                    z, options.ResourceZThreshold, (long)Math.Round(_cpu.Mean * 1000), _cpu.Count,
                    $"CPU {r.CpuCores:0.###} cores vs learned mean {_cpu.Mean:0.###} (sd {sd:0.###})"));
            }
        }

        if (r.MemoryBytes >= 0 && _memory.Count >= options.ResourceMinSamples)
        {
            var sd = Math.Max(_memory.StdDev, Math.Max(0.05 * _memory.Mean, 1 << 20));
            var z = (r.MemoryBytes - _memory.Mean) / sd;
            if (z > options.ResourceZThreshold && !ctx.Cooldowns.IsCoolingDown(Feature.Resource, new FeatureKey("memory"), ctx.Now))
            {
                findings.Add(Finding.OfItem(
                    Feature.Resource, new FeatureKey("memory"), AlertCategories.ResourceAnomaly, z > 2 * options.ResourceZThreshold ? Severity.High : Severity.Medium,
                    z, options.ResourceZThreshold, (long)_memory.Mean, _memory.Count,
                    $"memory {r.MemoryBytes / 1048576.0:0.#} MiB vs learned mean {_memory.Mean / 1048576.0:0.#} MiB"));
            }
        }
    }

    public void Reset(DetectorReset why)
    {
        if (why == DetectorReset.Relearn)
        {
            _cpu = default;
            _memory = default;
        }
    }

    public void WriteState(StateWriter w, int section)
    {
        WriteStats(w, _cpu);
        WriteStats(w, _memory);
    }

    public void ReadState(StateReader r, int section)
    {
        _cpu = ReadStats(r, "cpu");
        _memory = ReadStats(r, "memory");
    }

    private static void WriteStats(StateWriter w, in RunningStats s)
    {
        w.Long(s.Count);
        w.Double(s.Mean);
        w.Double(s.M2);
    }

    private static RunningStats ReadStats(StateReader r, string what)
    {
        var count = r.NonNegative(what + " samples");
        var mean = r.Double(what + " mean");
        var m2 = r.Double(what + " m2");
        return m2 >= 0 ? RunningStats.From(count, mean, m2) : throw new CheckpointRejectedException($"{what}: negative variance");
    }
}
