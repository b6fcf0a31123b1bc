using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Lab.Recordings;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// What a recording held, counted the same way by every command that reads one (<c>evaluate stream</c> in process,
/// <c>replay</c> through Kafka): records per source, decoded / ignored / rejected, workloads (by the key the pipeline
/// routes on), and the span of live event time (inventory records are dated at their processes' start, not now).
/// </summary>
internal sealed class RecordingTally(DetectionOptions detection)
{
    private readonly EventEnrichment _enrichment = new(detection.Cluster, detection.Network);
    private readonly HashSet<WorkloadKey> _keys = [];

    public long Decoded { get; private set; }

    public long Ignored { get; private set; }

    public long Rejected { get; private set; }

    public SortedDictionary<string, long> BySource { get; } = new(StringComparer.Ordinal);

    public DateTimeOffset First { get; private set; } = DateTimeOffset.MaxValue;

    public DateTimeOffset Last { get; private set; } = DateTimeOffset.MinValue;

    public int Workloads => _keys.Count;

    /// <summary>Counts one record; returns the event ready for detection, or null when the record is not an event.</summary>
    public IngestItem? Observe(in SourceRecord r)
    {
        var source = Path.GetFileName(r.Source);
        BySource[source] = BySource.GetValueOrDefault(source) + 1;
        if (r.Status == DecodeStatus.Ignored)
        {
            Ignored++;
            return null;
        }

        if (r.Status == DecodeStatus.Rejected)
        {
            Rejected++;
            return null;
        }

        var e = r.Event;
        Decoded++;
        if (e.Labels[EventLabels.Inventory] is null)
        {
            First = e.Timestamp < First ? e.Timestamp : First;
            Last = e.Timestamp > Last ? e.Timestamp : Last;
        }

        var item = _enrichment.Enrich(e, null, 0, 0);
        _keys.Add(item.Key);
        return item;
    }
}

/// <summary>Every emission of every incident, in order (what each sink received), for judging a recording.</summary>
internal sealed class IncidentHistory : IIncidentObserver
{
    private readonly Dictionary<string, Incident> _byId = new(StringComparer.Ordinal);

    public Dictionary<string, List<Incident>> History { get; } = new(StringComparer.Ordinal);

    /// <summary>The latest emission of each incident.</summary>
    public IReadOnlyList<Incident> All
    {
        get
        {
            lock (_byId)
            {
                return _byId.Values.ToList();
            }
        }
    }

    public void OnIncident(Incident incident)
    {
        lock (_byId)
        {
            _byId[incident.Id] = incident;
            if (!History.TryGetValue(incident.Id, out var list))
            {
                list = [];
                History[incident.Id] = list;
            }

            list.Add(incident);
        }
    }

    /// <summary>Every emission as the JSON sinks would have rendered it (sentinel.alert/v2 unless told), oldest first.</summary>
    public IEnumerable<string> Lines(IncidentSchema schema = IncidentSchema.Sentinel) =>
        History.Values.SelectMany(h => h).OrderBy(i => i.FirstSeen).ThenBy(i => i.Version).Select(i => System.Text.Encoding.UTF8.GetString(IncidentSchemas.ToUtf8(i, schema, null)));
}

/// <summary><c>--learning S</c> of the commands that read recordings, applied the same way by each.</summary>
internal static class RecordingLearning
{
    /// <summary>
    /// A recording of seconds (a LID-DS scenario holds a few thousand events) given a learning time of seconds must not
    /// also wait for the live default of 2,000 events per workload.
    /// </summary>
    public const int MinEventsWithShortLearning = 100;

    public static void Apply(DetectionOptions options, double? seconds)
    {
        if (seconds is { } s)
        {
            options.LearningDuration = TimeSpan.FromSeconds(Math.Max(0, s));
            options.MinLearningEvents = Math.Min(options.MinLearningEvents, MinEventsWithShortLearning);
        }
    }
}
