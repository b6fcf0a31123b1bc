using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Core.Alerts;

public enum IncidentStatus : byte
{
    /// <summary>First emission.</summary>
    Firing,

    /// <summary>Re-emitted because more alerts were folded in.</summary>
    Updated,

    /// <summary>Final emission when the incident's window closed.</summary>
    Resolved,
}

/// <summary>
/// One security incident (schema <c>sentinel.alert/v2</c>, docs/alerts.md): the alerts of one workload that belong
/// together — the same fingerprint repeating, or one process tree doing several unexpected things — folded into a
/// single record with a count, first/last seen and sample alerts, however many pods and nodes they came from.
/// Mutable while open; sinks receive snapshots (<see cref="Snapshot"/>).
/// </summary>
public sealed class Incident
{
    public const string SchemaId = "sentinel.alert/v2";
    public const int MaxSamples = 20;

    private readonly List<Alert> _samples = [];
    private readonly SortedSet<string> _pods = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _nodes = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _categories = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fingerprints = new(StringComparer.Ordinal);

    public Incident(Alert first, DateTimeOffset now)
    {
        Id = Guid.CreateVersion7(now).ToString();
        Fingerprint = first.Fingerprint;
        Workload = first.Workload;
        Primary = first;
        FirstSeen = first.Time;
        LastSeen = first.Time;
        Add(first);
    }

    private Incident(Incident source)
    {
        Id = source.Id;
        Fingerprint = source.Fingerprint;
        Workload = source.Workload;
        Primary = source.Primary;
        FirstSeen = source.FirstSeen;
        LastSeen = source.LastSeen;
        Count = source.Count;
        Status = source.Status;
        Version = source.Version;
        Kind = source.Kind;
        Note = source.Note;
        DistinctFindings = source.DistinctFindings;
        PendingSince = source.PendingSince;
        _samples.AddRange(source._samples);
        _pods.UnionWith(source._pods);
        _nodes.UnionWith(source._nodes);
        _categories.UnionWith(source._categories);
    }

    public string Id { get; }

    public string Fingerprint { get; }

    public WorkloadKey Workload { get; }

    /// <summary>The most severe alert (first on ties): category, severity and summary of the incident.</summary>
    public Alert Primary { get; private set; }

    public DateTimeOffset FirstSeen { get; }

    public DateTimeOffset LastSeen { get; private set; }

    /// <summary>Alerts folded in, samples or not.</summary>
    public long Count { get; private set; }

    public IncidentStatus Status { get; set; }

    /// <summary>Emissions so far; sinks may use (Id, Version) to de-duplicate.</summary>
    public int Version { get; set; }

    /// <summary><c>detection</c>, or <c>budget_summary</c> for the record of incidents held back by a rate limit.</summary>
    public string Kind { get; init; } = "detection";

    /// <summary>Free text for summaries (e.g. what a budget held back).</summary>
    public string? Note { get; set; }

    public Severity Severity => Primary.Severity;

    public string Category => Primary.Category;

    public IReadOnlyList<Alert> Samples => _samples;

    public IReadOnlyCollection<string> Pods => _pods;

    public IReadOnlyCollection<string> Nodes => _nodes;

    public IReadOnlyCollection<string> Categories => _categories;

    /// <summary>Alerts added since the last emission.</summary>
    public long Pending { get; set; }

    /// <summary>Time of the first alert added since the last emission: with <see cref="LastSeen"/>, what an emission brings.</summary>
    public DateTimeOffset PendingSince { get; private set; }

    /// <summary>Distinct findings (fingerprints) folded in; counted exactly up to 100,000.</summary>
    public long DistinctFindings { get; private set; }

    // Receipts of the alerts added since the last emission; an emission (snapshot) takes them along.
    private List<AlertReceipt>? _receipts;

    /// <summary>The receipts this emission carries (settled once every sink has it), or those waiting for the next one.</summary>
    public IReadOnlyList<AlertReceipt> Receipts => (IReadOnlyList<AlertReceipt>?)_receipts ?? [];

    /// <summary>Hands the receipts over (to settle them elsewhere); the incident keeps none.</summary>
    public List<AlertReceipt>? TakeReceipts()
    {
        var r = _receipts;
        _receipts = null;
        return r;
    }

    public void Add(Alert alert)
    {
        if (alert.Receipt is { } receipt)
        {
            (_receipts ??= []).Add(receipt);
        }

        if (Pending == 0)
        {
            PendingSince = alert.Time;
        }

        Count++;
        Pending++;
        if (alert.Time > LastSeen)
        {
            LastSeen = alert.Time;
        }

        if (alert.Severity > Primary.Severity)
        {
            Primary = alert;
        }

        _categories.Add(alert.Category);
        if (alert.Identity.Pod is { } pod)
        {
            _pods.Add(pod);
        }

        if (alert.Node is { } node)
        {
            _nodes.Add(node);
        }

        // Keep distinct findings as samples: the first of each fingerprint, up to the cap.
        if (_samples.Count < MaxSamples && !_samples.Exists(s => s.Fingerprint == alert.Fingerprint && s.Identity.Pod == alert.Identity.Pod))
        {
            _samples.Add(alert);
        }

        if (_fingerprints.Count < 100_000 && _fingerprints.Add(alert.Fingerprint))
        {
            DistinctFindings++;
            if (DistinctFindings >= 3 && Kind == "detection" && _samples.GroupBy(s => s.Category).Max(g => g.Count()) >= 3)
            {
                // A burst of one kind of finding, not one process tree doing several things.
                Note = FloodNote();
            }
        }
    }

    /// <summary>
    /// A burst of one kind of finding reads as one line: "412 new peers of shop/Deployment/api in 5 min: a, b, c, …"
    /// (the most common category, and the first items seen of it).
    /// </summary>
    private string FloodNote()
    {
        var category = _samples.GroupBy(s => s.Category).OrderByDescending(g => g.Count()).First().Key;
        var items = _samples.Where(s => s.Category == category).Select(s => s.Explanation.Observed).Distinct(StringComparer.Ordinal).Take(5).ToList();
        var span = LastSeen - FirstSeen;
        var within = span < TimeSpan.FromMinutes(1) ? $"{Math.Max(1, (int)span.TotalSeconds)} s" : $"{(int)Math.Ceiling(span.TotalMinutes)} min";
        var more = DistinctFindings > items.Count ? ", …" : "";
        return $"{DistinctFindings} distinct findings ({category}) of {Workload.ShortName} in {within}: {string.Join(", ", items)}{more}";
    }

    /// <summary>An immutable copy for sinks (the live incident keeps changing on the dispatcher thread).</summary>
    /// <summary>A copy to emit; it takes the receipts of the alerts it brings.</summary>
    public Incident Snapshot() => new(this) { _receipts = TakeReceipts() };
}
