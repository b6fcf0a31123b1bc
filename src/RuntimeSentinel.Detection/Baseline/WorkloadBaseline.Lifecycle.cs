using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>Learning items, containers starting and stopping, rollouts (adapting or relearning), the clock.</summary>
public sealed partial class WorkloadBaseline
{
    private readonly Queue<string> _containers = new();
    private readonly HashSet<string> _knownContainers = new(StringComparer.Ordinal);

    /// <summary>
    /// Containers that started while the workload learned: three or more mean starts are its normal. Those met in the
    /// first <see cref="DetectionOptions.WarmupPeriod"/> of learning, or only in a sensor's inventory, were already
    /// running (three replicas found at start-up are no three starts).
    /// </summary>
    public int ContainersWhileLearning { get; private set; }

    /// <summary>Until when a container that started after learning warms up (see <see cref="WarmingUp"/>).</summary>
    public DateTimeOffset WarmupUntil { get; private set; }

    /// <summary>
    /// True while a replica, restart or rollout of the workload is starting: its first windows (entrypoints, caches,
    /// connection pools) are unlike steady state, so the behaviour models do not judge them. Item novelty still does.
    /// </summary>
    public bool WarmingUp(DateTimeOffset now) => now < WarmupUntil;

    /// <summary>Notes the container an event came from; a container first seen after learning starts a warm-up.</summary>
    private void NoteContainer(string? containerId, DateTimeOffset now, bool inventory)
    {
        if (containerId is null || _knownContainers.Contains(containerId))
        {
            return;
        }

        if (_knownContainers.Count >= 64)
        {
            _knownContainers.Remove(_containers.Dequeue());
        }

        _knownContainers.Add(containerId);
        _containers.Enqueue(containerId);
        if (Phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            if (!inventory && now - LearningSince >= _options.WarmupPeriod)
            {
                ContainersWhileLearning++;
            }
        }
        else if (ContainersWhileLearning < 3)
        {
            // Starts were not part of what the models learned (long-running pods): give a new one time to settle.
            // A workload that started containers all along (a CronJob, a batch Deployment) learned its starts: no pause.
            WarmupUntil = now + _options.WarmupPeriod;
        }
    }

    /// <summary>
    /// A container's entrypoint (its PID 1, as the sensor reports it) runs when the container starts and exits when it
    /// stops (a rollout, a replacement, a scale-down, a restart): those windows are unlike steady state. The entrypoint's
    /// exec is the start even when the container was already known: a sensor can report a container's first kprobes
    /// before its exec (two ring buffers), and a StatefulSet's pod comes back under the same name. The parent alone
    /// cannot tell: exec probes and <c>kubectl exec</c> are children of the runtime too, but never PID 1.
    /// </summary>
    private void NoteEntrypoint(DateTimeOffset now)
    {
        if (Phase is not (BaselinePhase.Learning or BaselinePhase.Stale) && ContainersWhileLearning < 3)
        {
            WarmupUntil = now + _options.WarmupPeriod;
        }
    }

    /// <summary>The image the workload is adapting to after a rollout, while <see cref="AdaptingUntil"/> lasts.</summary>
    public string? AdaptingTo { get; private set; }

    public DateTimeOffset AdaptingUntil { get; private set; }

    public bool IsAdapting(DateTimeOffset now) => AdaptingTo is not null && now < AdaptingUntil;

    /// <summary>
    /// While adapting to a new image, a novel item below high severity is the new version's normal: it is learned, not
    /// raised. High and critical findings (shells under servers, credential files, miners, /tmp executables, new
    /// external peers...) still alert, and say the workload is adapting.
    /// </summary>
    private void AdaptFindings(List<Finding> findings, int from)
    {
        for (var i = findings.Count - 1; i >= from; i--)
        {
            var f = findings[i];
            if (f.Severity >= Severity.High)
            {
                findings[i] = f with { Reason = $"{f.Reason}; workload adapting to image {ShortDigest(AdaptingTo!)}" };
                continue;
            }

            if (f.Feature != Feature.Resource)
            {
                Add(f.Feature, f.Item);
                if (f.Feature == Feature.Exec && f.Item.B is { } parent)
                {
                    Add(Feature.Lineage, new FeatureKey(f.Item.A, parent));
                }
            }

            AdaptedItems++;
            findings.RemoveAt(i);
        }
    }

    /// <summary>
    /// A container of an image the workload already runs is starting (a restart, a reschedule, a drain, a new replica):
    /// a daemon started into a running cluster never saw its containers start, so their entrypoint, the configuration it
    /// reads or templates and the runtime as a parent are new the first time. What the catalogue flags still alerts (a
    /// miner, a shell under a server, a credential file, an escape), and so does anything critical or on the network;
    /// processes, files, syscalls and listening ports are learned as the workload's start-up instead of paged.
    /// </summary>
    private void LearnStartup(in RuntimeEvent e, string? normalizedPath, List<Finding> findings, int from)
    {
        if (SuspiciousCatalogue.TryMatch(e, normalizedPath, out _))
        {
            return;
        }

        for (var i = findings.Count - 1; i >= from; i--)
        {
            var f = findings[i];
            if (f.Severity >= Severity.Critical || f.Feature is not (Feature.Exec or Feature.Lineage or Feature.File or Feature.Syscall or Feature.ListenPort))
            {
                continue;
            }

            Add(f.Feature, f.Item);
            if (f.Feature == Feature.Exec && f.Item.B is { } parent)
            {
                Add(Feature.Lineage, new FeatureKey(f.Item.A, parent));
            }

            StartupLearned++;
            findings.RemoveAt(i);
        }
    }

    /// <summary>Items learned as a container's start-up (see <see cref="LearnStartup"/>) instead of alerting.</summary>
    public long StartupLearned { get; private set; }

    /// <summary>Items learned silently while adapting to a new image (instead of alerting).</summary>
    public long AdaptedItems { get; private set; }

    private static string ShortDigest(string digest) => digest.Length > 19 ? digest[..19] : digest;

    /// <summary>
    /// True while the baseline's clock comes only from inventory events (processes found running when the sensor
    /// started, stamped with their old start times): the first live event restarts it.
    /// </summary>
    public bool ProvisionalClock { get; set; }

    /// <summary>Restarts the learning clock at the first live event (see <see cref="ProvisionalClock"/>).</summary>
    public void RestartClock(DateTimeOffset now)
    {
        FirstSeen = now;
        LearningSince = now;
        LastSeen = now;
        ProvisionalClock = false;
        _activity.Clear(); // inventory timestamps are no hours the workload was watched in
        _sessions.Clear();
    }

    /// <summary>True when the digest was not seen before (recorded; a rolling update's two digests both count as known).</summary>
    private bool IsNewImage(string digest)
    {
        if (_imageDigests.Contains(digest))
        {
            return false;
        }

        if (_imageDigests.Count >= 8)
        {
            _imageDigests.Clear();
        }

        var first = _imageDigests.Count == 0;
        _imageDigests.Add(digest);
        return !first;
    }

    /// <summary>
    /// A new image means new binaries and behaviour: what was learned no longer describes the workload, so it is
    /// forgotten and learned again (phase stale) rather than alerting on everything the new version does.
    /// </summary>
    private void Relearn(string digest, DateTimeOffset now)
    {
        for (var i = 0; i < _counters.Length; i++)
        {
            _counters[i].ReleaseMemory();
            _counters[i] = new BoundedCounter(_options.MaxItemsPerFeature, _budget);
        }

        _directories.Clear();
        _lastAlerted.Clear();
        _runs.Clear();
        _peerVolume.Clear();
        _peerRate.Clear();
        _sessions.Clear();
        _activity.Clear();
        _cpu = default;
        _memory = default;
        EventsLearned = 0;
        LearningSince = now;
        ShadowSince = null;
        ActiveSince = null;
        RelearnedFor = digest;
        Phase = BaselinePhase.Stale;
    }

    private void Learn(in RuntimeEvent e, string? path, string? peer)
    {
        switch (e.Kind)
        {
            case EventKind.ProcessExec when e.Process.Exe is { } exe:
                LastEventKnown = Add(Feature.Exec, new FeatureKey(exe)) == 0;
                if (e.Process.ParentExe is { } parent)
                {
                    Add(Feature.Lineage, new FeatureKey(exe, parent));
                }

                break;
            case EventKind.Syscall when e.SyscallName is { } sc:
                Add(Feature.Syscall, new FeatureKey(sc));
                break;
            case EventKind.FileOpen when path is not null:
                var added = Add(Feature.File, new FeatureKey(path));
                LastEventKnown = added == 0;
                if (added == 1)
                {
                    _directories.Count(path);
                }

                if (e.FilePath is { } raw && SeverityPolicy.IsWrite(e.FileFlags))
                {
                    _directories.CountCreated(path, raw);
                }

                break;
            case EventKind.NetConnect when e.Net.RemoteIp is not null:
                LastEventKnown = Add(Feature.Endpoint, EndpointKey(e, peer)) == 0;
                break;
            case EventKind.NetFlow:
                LearnFlow(e, peer);
                break;
            case EventKind.DnsQuery when e.DnsName is { } dns:
                Add(Feature.Dns, new FeatureKey(NormalizeDns(dns)));
                break;
            case EventKind.SensorAlert when e.Labels[EventLabels.SensorRule] is { } rule:
                Add(Feature.SensorRule, new FeatureKey(rule, e.Labels[EventLabels.Source]));
                break;
            case EventKind.NetListen or EventKind.NetAccept:
                Add(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort));
                break;
            case EventKind.ResourceUsage:
                if (e.Resource.CpuCores >= 0)
                {
                    _cpu.Add(e.Resource.CpuCores);
                }

                if (e.Resource.MemoryBytes >= 0)
                {
                    _memory.Add(e.Resource.MemoryBytes);
                }

                break;
        }
    }

    /// <summary>
    /// Traffic on an existing connection is never a new endpoint by itself, but it says what the workload talks to
    /// (connections opened before the sensor or the baseline started): an outbound flow's peer and an inbound flow's
    /// service port are learned, silently, in every phase.
    /// </summary>
    private void LearnFlow(in RuntimeEvent e, string? peer)
    {
        if (e.Net.Direction == NetDirection.Outbound && e.Net.RemoteIp is not null)
        {
            Add(Feature.Endpoint, EndpointKey(e, peer));
        }
        else if (e.Net.Direction == NetDirection.Inbound && e.Net.LocalPort > 0 && !IsEphemeral(e.Net.LocalPort))
        {
            Add(Feature.ListenPort, new FeatureKey(e.Net.Protocol ?? "tcp", null, e.Net.LocalPort));
        }
    }

    /// <summary>Counts the item: 1 when it was new, 0 when known, -1 when new but the feature is full.</summary>
    private int Add(Feature f, in FeatureKey key)
    {
        var result = _counters[(int)f].Add(key);
        switch (result)
        {
            case 1:
                _changes.ItemLearned(f);
                break;
            case -1:
                _changes.CapacityExceeded(f);
                break;
        }

        return result;
    }
}
