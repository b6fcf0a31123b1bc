using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Alerting;

/// <summary>
/// Rate limits on new incidents: a token bucket per workload (per hour) and one for everything (per minute). What a
/// bucket refuses is held, counted and summarised: one <c>budget_summary</c> incident per workload per summary
/// interval says how many incidents of which categories were held back. Nothing is dropped silently.
/// </summary>
public sealed class IncidentBudget(AlertingOptions options)
{
    private readonly Dictionary<WorkloadKey, Bucket> _workloads = new();
    private readonly Dictionary<WorkloadKey, Held> _held = new();
    private Bucket _global = new(options.MaxIncidentsPerMinute, DateTimeOffset.MinValue);
    private readonly long[] _heldBySeverity = new long[5];

    /// <summary>Incidents held back so far, by severity (index = <see cref="Severity"/>).</summary>
    public IReadOnlyList<long> HeldBySeverity => _heldBySeverity;

    public TimeSpan SummaryInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>True if the incident may be sent now; otherwise it is held and <paramref name="scope"/> says by which budget.</summary>
    public bool TryTake(Incident incident, DateTimeOffset now, out string scope)
    {
        var perHour = options.MaxIncidentsPerWorkloadPerHour;
        if (!_workloads.TryGetValue(incident.Workload, out var bucket))
        {
            bucket = new Bucket(perHour, now);
        }

        bucket = bucket.Refill(now, perHour, TimeSpan.FromHours(1));
        _global = _global.Refill(now, options.MaxIncidentsPerMinute, TimeSpan.FromMinutes(1));
        if (incident.Severity >= Severity.High)
        {
            // High and critical incidents are never held back: they spend what tokens there are and always go out.
            _workloads[incident.Workload] = bucket with { Tokens = Math.Max(0, bucket.Tokens - 1) };
            _global = _global with { Tokens = Math.Max(0, _global.Tokens - 1) };
            scope = "";
            return true;
        }

        if (bucket.Tokens < 1)
        {
            _workloads[incident.Workload] = bucket;
            scope = "workload";
            Hold(incident, now);
            return false;
        }

        if (_global.Tokens < 1)
        {
            _workloads[incident.Workload] = bucket;
            scope = "global";
            Hold(incident, now);
            return false;
        }

        _workloads[incident.Workload] = bucket with { Tokens = bucket.Tokens - 1 };
        _global = _global with { Tokens = _global.Tokens - 1 };
        scope = "";
        return true;
    }

    /// <summary>Summary incidents for workloads with held-back incidents, at most one per workload per interval.</summary>
    public List<Incident> Summaries(DateTimeOffset now, bool flushAll = false)
    {
        var result = new List<Incident>();
        foreach (var (key, held) in _held.ToList())
        {
            if (!flushAll && now - held.Since < SummaryInterval)
            {
                continue;
            }

            var categories = string.Join(", ", held.Categories.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));
            var severities = string.Join(", ", held.Severities.OrderByDescending(c => c.Key).Select(c => $"{c.Key.ToWire()} {c.Value}"));
            var note = $"{held.Count} incidents held back by the alert budget since {held.Since.UtcDateTime:u}; severities: {severities}; categories: {categories} (high and critical are never held)";
            var last = held.Last.Primary;
            var alert = last with
            {
                Id = Guid.CreateVersion7(now).ToString(),
                Category = AlertCategories.AlertBudgetExceeded,
                Severity = held.MaxSeverity,
                Summary = $"{key.ShortName}: alert budget exceeded",
                Fingerprint = "budget:" + key.Value,
                Mitre = null,
            };
            var summary = new Incident(alert, now) { Kind = "budget_summary", Note = note, Status = IncidentStatus.Firing, Version = 1 };
            result.Add(summary);
            _held.Remove(key);
        }

        return result;
    }

    private void Hold(Incident incident, DateTimeOffset now)
    {
        if (!_held.TryGetValue(incident.Workload, out var held))
        {
            held = new Held(now);
            _held[incident.Workload] = held;
        }

        held.Count++;
        _heldBySeverity[(int)incident.Severity]++;
        held.Last = incident;
        held.MaxSeverity = incident.Severity > held.MaxSeverity ? incident.Severity : held.MaxSeverity;
        held.Categories[incident.Category] = held.Categories.GetValueOrDefault(incident.Category) + 1;
        held.Severities[incident.Severity] = held.Severities.GetValueOrDefault(incident.Severity) + 1;
    }

    private readonly record struct Bucket(double Tokens, DateTimeOffset At)
    {
        public Bucket Refill(DateTimeOffset now, int capacity, TimeSpan per)
        {
            if (At == DateTimeOffset.MinValue)
            {
                return new Bucket(capacity, now);
            }

            var add = (now - At) / per * capacity;
            return new Bucket(Math.Min(capacity, Tokens + add), now);
        }
    }

    private sealed class Held(DateTimeOffset since)
    {
        public DateTimeOffset Since { get; } = since;

        public long Count { get; set; }

        public Incident Last { get; set; } = null!;

        public Severity MaxSeverity { get; set; }

        public Dictionary<string, int> Categories { get; } = new(StringComparer.Ordinal);

        public Dictionary<Severity, int> Severities { get; } = [];
    }
}
