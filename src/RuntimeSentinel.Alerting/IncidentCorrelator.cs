using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Alerting;

/// <summary>
/// Folds alerts into incidents (single-threaded: the dispatcher loop owns it). An alert joins an open incident of
/// its workload when it has the same fingerprint (a repeat, from any pod or node), when its process or parent
/// process already belongs to the incident (one process tree doing several unexpected things: the shell, its
/// connection, its syscalls), or when it names no process or judges a whole behaviour window and the workload's latest
/// incident is still grouping or had an alert within <c>ProcesslessJoinWindow</c> before it.
/// Incidents are first emitted after <c>IncidentGroupWait</c>, re-emitted with new alerts at most every
/// <c>IncidentGroupInterval</c> (at once when an alert raises an emitted incident to high or critical: an analyst does
/// not wait a minute for a root shell that joined a lesser incident), and closed after <c>IncidentWindow</c> without new alerts.
/// </summary>
internal sealed class IncidentCorrelator(AlertingOptions options)
{
    private readonly Dictionary<string, State> _byFingerprint = new(StringComparer.Ordinal);
    // A process is its container (by its short id: Tetragon and Falco write one container's id differently) and its pid:
    // replicas of a workload reuse pids (namespace pids start at 1 in every pod), and one replica's alert is no part of
    // another's process tree.
    private readonly Dictionary<(WorkloadKey, string?, int), State> _byProcess = new();
    private readonly Dictionary<WorkloadKey, State> _latestByWorkload = new();
    private readonly Dictionary<(WorkloadKey, string), State> _byCategory = new();
    private readonly List<State> _open = [];

    public int OpenCount => _open.Count;


    /// <summary>Adds an alert; returns true when it opened a new incident (false: folded into an open one).</summary>
    public bool Add(Alert alert, DateTimeOffset now)
    {
        var state = Find(alert, now);
        if (state is null)
        {
            if (_open.Count >= options.MaxOpenIncidents)
            {
                // Bounded: close the oldest incident early rather than grow.
                Close(_open[0]);
            }

            state = new State(new Incident(alert, now), now);
            _open.Add(state);
            Register(state, alert);
            return true;
        }

        state.Incident.Add(alert);
        state.LastAdded = now;
        Register(state, alert);
        return false;
    }

    /// <summary>Snapshots of the incidents due for (re-)emission now; closes expired ones.</summary>
    public List<Incident> Due(DateTimeOffset now, bool flushAll = false)
    {
        var due = new List<Incident>();
        foreach (var s in _open.ToList())
        {
            var i = s.Incident;
            var expired = now - s.LastAdded >= options.IncidentWindow;
            if (!s.Emitted && (flushAll || now - s.Opened >= options.IncidentGroupWait))
            {
                i.Status = IncidentStatus.Firing;
                Emit(s, now, due);
            }
            else if (s.Emitted && i.Pending > 0 && (flushAll || expired || Escalated(s) || now - s.LastEmitted >= options.IncidentGroupInterval))
            {
                // A flush at shutdown is not the incident ending: a restarted daemon (or Alertmanager's endsAt) settles it.
                i.Status = expired ? IncidentStatus.Resolved : IncidentStatus.Updated;
                Emit(s, now, due);
            }
            else if (s.Emitted && expired && options.ResolvesIncidents)
            {
                // Nothing new, but the incident is over: said once, so a SIEM closes its finding.
                i.Status = IncidentStatus.Resolved;
                Emit(s, now, due);
            }

            if (expired)
            {
                Close(s);
            }
        }

        return due;
    }

    /// <summary>
    /// The earliest time at which <see cref="Due"/> would emit or close something (MaxValue with nothing open): on the
    /// event clock the dispatcher steps through these between alerts, so what an emission holds does not depend on when
    /// its loop happened to run.
    /// </summary>
    public DateTimeOffset NextDeadline()
    {
        var next = DateTimeOffset.MaxValue;
        foreach (var s in _open)
        {
            var i = s.Incident;
            var expiry = s.LastAdded + options.IncidentWindow;
            var t = !s.Emitted ? s.Opened + options.IncidentGroupWait
                : i.Pending == 0 ? expiry
                : Escalated(s) ? s.LastAdded
                : Min(s.LastEmitted + options.IncidentGroupInterval, expiry);
            next = Min(next, t);
        }

        return next;

        static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
    }

    /// <summary>Raised to high or critical since it was last emitted (at most two such updates per incident).</summary>
    private static bool Escalated(State s) => s.Incident.Severity >= Severity.High && s.Incident.Severity > s.EmittedSeverity;

    private static void Emit(State s, DateTimeOffset now, List<Incident> due)
    {
        s.EmittedSeverity = s.Incident.Severity;
        s.Incident.Version++;
        s.Incident.Pending = 0;
        s.Emitted = true;
        s.LastEmitted = now;
        due.Add(s.Incident.Snapshot());
    }

    private State? Find(Alert alert, DateTimeOffset now)
    {
        if (_byFingerprint.TryGetValue(alert.Fingerprint, out var s))
        {
            return s;
        }

        // A high or critical finding is never buried in a flood of lesser ones: it joins only its own process tree.
        var serious = alert.Severity >= Severity.High;

        // A behaviour window that stands out while the workload's incident is unfolding is that incident's window (the
        // miner's CPU spike, the shell's burst of execs): its evidence is examples from the window, not the culprit.
        if (alert.Windowed && _latestByWorkload.TryGetValue(alert.Workload, out s) && !(serious && s.IsFlood) && Near(alert, s))
        {
            return s;
        }

        // A window's examples are not its culprit: a window alert never joins (nor registers) a process tree.
        var p = alert.Evidence.Count > 0 && !alert.Windowed ? alert.Evidence[0].Process : ProcessInfo.None;
        var container = alert.Evidence.Count > 0 ? ShortId(alert.Evidence[0].Workload.ContainerId) : null;
        if (p.Pid >= 0 && _byProcess.TryGetValue((alert.Workload, container, p.Pid), out s) && !(serious && s.IsFlood))
        {
            return s;
        }

        if (p.Ppid >= 0 && _byProcess.TryGetValue((alert.Workload, container, p.Ppid), out s) && !(serious && s.IsFlood))
        {
            return s;
        }

        // A finding seconds after a behaviour window that stood out on its own explains that window (a reload's writes, a
        // shell's commands): one story, whichever came first. Only an incident of windows alone: its examples name no
        // culprit, so there is no process tree to join.
        if (!alert.Windowed && _latestByWorkload.TryGetValue(alert.Workload, out s) && s.OnlyWindows && Near(alert, s))
        {
            return s;
        }

        // A burst of one category of low and medium findings from one workload (412 new peers, 300 new files) is one
        // incident with a count and its top items, not hundreds.
        if (!serious && _byCategory.TryGetValue((alert.Workload, alert.Category), out s) && s.Incident.Severity < Severity.High)
        {
            s.Flood = true;
            return s;
        }

        if (!alert.Windowed && p.Pid < 0 && p.Exe is null && _latestByWorkload.TryGetValue(alert.Workload, out s) && (now - s.LastAdded <= options.IncidentGroupWait || Near(alert, s)))
        {
            return s;
        }

        return null;
    }

    /// <summary>
    /// What the alert shows happened within <c>ProcesslessJoinWindow</c> of what the incident's alerts showed: the
    /// sensor's event time, so neither a busy dispatcher nor a lagging detection shard joins (or splits) episodes.
    /// </summary>
    private bool Near(Alert alert, State s)
    {
        var when = Happened(alert);
        return when >= s.FirstHappened - options.ProcesslessJoinWindow && when - s.LastHappened <= options.ProcesslessJoinWindow;
    }

    /// <summary>The latest event time among the alert's evidence (its detection time when it carries none).</summary>
    private static DateTimeOffset Happened(Alert alert)
    {
        var when = DateTimeOffset.MinValue;
        foreach (var e in alert.Evidence)
        {
            when = e.Timestamp > when ? e.Timestamp : when;
        }

        return when == DateTimeOffset.MinValue ? alert.Time : when;
    }

    private void Register(State s, Alert alert)
    {
        var when = Happened(alert);
        s.FirstHappened = s.FirstHappened == default || when < s.FirstHappened ? when : s.FirstHappened;
        s.LastHappened = when > s.LastHappened ? when : s.LastHappened;
        _byFingerprint[alert.Fingerprint] = s;
        _latestByWorkload[alert.Workload] = s;
        if (alert.Severity < Severity.High)
        {
            _byCategory[(alert.Workload, alert.Category)] = s;
            s.Categories.Add(alert.Category);
        }
        s.Fingerprints.Add(alert.Fingerprint);
        s.OnlyWindows &= alert.Windowed;
        var pid = alert.Evidence.Count > 0 && !alert.Windowed ? alert.Evidence[0].Process.Pid : -1;
        if (pid >= 0)
        {
            (string? ContainerId, int Pid) process = (ShortId(alert.Evidence[0].Workload.ContainerId), pid);
            _byProcess[(alert.Workload, process.ContainerId, pid)] = s;
            s.Processes.Add(process);
        }
    }

    private static string? ShortId(string? containerId) => containerId is null ? null : WorkloadResolver.ShortContainerId(containerId).ToLowerInvariant();

    private void Close(State s)
    {
        // Alerts folded in since its last emission will not be emitted (only when the open-incident cap forces a close).
        if (s.Incident.TakeReceipts() is { } unsent)
        {
            AlertReceipt.SettleAll(unsent);
        }

        _open.Remove(s);
        foreach (var f in s.Fingerprints)
        {
            if (_byFingerprint.TryGetValue(f, out var x) && x == s)
            {
                _byFingerprint.Remove(f);
            }
        }

        foreach (var (container, pid) in s.Processes)
        {
            if (_byProcess.TryGetValue((s.Incident.Workload, container, pid), out var x) && x == s)
            {
                _byProcess.Remove((s.Incident.Workload, container, pid));
            }
        }

        if (_latestByWorkload.TryGetValue(s.Incident.Workload, out var latest) && latest == s)
        {
            _latestByWorkload.Remove(s.Incident.Workload);
        }

        foreach (var c in s.Categories)
        {
            if (_byCategory.TryGetValue((s.Incident.Workload, c), out var x) && x == s)
            {
                _byCategory.Remove((s.Incident.Workload, c));
            }
        }
    }

    private sealed class State(Incident incident, DateTimeOffset opened)
    {
        public Incident Incident { get; } = incident;

        public DateTimeOffset Opened { get; } = opened;

        public DateTimeOffset LastAdded { get; set; } = opened;

        public DateTimeOffset LastEmitted { get; set; }

        /// <summary>Event time span of the incident's alerts (see <see cref="Happened"/>).</summary>
        public DateTimeOffset FirstHappened { get; set; }

        public DateTimeOffset LastHappened { get; set; }

        public bool Emitted { get; set; }

        /// <summary>The incident's severity when it was last emitted.</summary>
        public Severity EmittedSeverity { get; set; }

        public HashSet<string> Fingerprints { get; } = new(StringComparer.Ordinal);

        /// <summary>Every alert so far judged a whole behaviour window (none names its process).</summary>
        public bool OnlyWindows { get; set; } = true;

        public HashSet<(string? ContainerId, int Pid)> Processes { get; } = [];

        public HashSet<string> Categories { get; } = new(StringComparer.Ordinal);

        /// <summary>Grown by category (a burst of lesser findings), not by process: serious findings stay apart from it.</summary>
        public bool Flood { get; set; }

        /// <summary>A burst of lesser findings, however they joined (by category, or one process making many): three or more distinct, none serious.</summary>
        public bool IsFlood => Incident.Severity < Severity.High && (Flood || Incident.DistinctFindings >= 3);
    }
}
