using Microsoft.Extensions.Options;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Workloads;

/// <summary>
/// The node's one memory budget (<c>Detection:MemoryBudgetMiB</c>), shared by everything that holds detection state in
/// memory: baselines' items, models (through their own share) and the table of checkpoints read from the state topic.
/// </summary>
public sealed class NodeMemoryBudget(IOptions<DetectionOptions> options)
{
    public ModelMemoryBudget Budget { get; } = new(options.Value.MemoryBudgetMiB * 1024L * 1024L);
}
