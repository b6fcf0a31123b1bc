namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// The containers a workload's events came from (the last 64), and what their starts mean: containers that started
/// while the workload learned make starts its normal; one that starts after learning warms up for
/// <see cref="DetectionOptions.WarmupPeriod"/> (its first windows are unlike steady state).
/// </summary>
internal sealed class ContainerStarts(DetectionOptions options)
{
    public const int MaxContainers = 64;

    private readonly Queue<string> _containers = new();
    // By short id: a container met through a second sensor (Falco writes the short id, Tetragon the full one) is no start.
    private readonly HashSet<string> _known = new(Core.Workloads.ContainerIdComparer.Instance);

    // The last container noted: a workload's events come from few containers, so most events skip the set's hashing.
    private string? _last;

    /// <summary>The known containers, oldest first (the checkpoint's order).</summary>
    public IEnumerable<string> Known => _containers;

    /// <summary>Containers that started while the workload learned (see <see cref="WorkloadBaseline.ContainersWhileLearning"/>).</summary>
    public int WhileLearning { get; set; }

    /// <summary>Until when a container that started after learning warms up.</summary>
    public DateTimeOffset WarmupUntil { get; set; }

    /// <summary>Notes the container an event came from; a container first seen after learning starts a warm-up.</summary>
    public void Note(string? containerId, DateTimeOffset now, bool inventory, bool learning, DateTimeOffset learningSince)
    {
        if (containerId is null || ReferenceEquals(containerId, _last))
        {
            return;
        }

        _last = containerId;
        if (_known.Contains(containerId))
        {
            return;
        }

        if (_known.Count >= MaxContainers)
        {
            _known.Remove(_containers.Dequeue());
        }

        Restore(containerId);
        if (learning)
        {
            if (!inventory && now - learningSince >= options.WarmupPeriod)
            {
                WhileLearning++;
            }
        }
        else if (WhileLearning < 3)
        {
            // Starts were not part of what the models learned (long-running pods): give a new one time to settle.
            // A workload that started containers all along (a CronJob, a batch Deployment) learned its starts: no pause.
            WarmupUntil = now + options.WarmupPeriod;
        }
    }

    /// <summary>A container's entrypoint started or exited (see <see cref="WorkloadBaseline"/>): after learning, a warm-up.</summary>
    public void NoteEntrypoint(DateTimeOffset now, bool learning)
    {
        if (!learning && WhileLearning < 3)
        {
            WarmupUntil = now + options.WarmupPeriod;
        }
    }

    /// <summary>Adds a known container (from a checkpoint: no start is counted).</summary>
    public void Restore(string containerId)
    {
        if (_known.Add(containerId))
        {
            _containers.Enqueue(containerId);
        }
    }
}
