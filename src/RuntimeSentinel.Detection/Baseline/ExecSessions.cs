using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// Sessions that someone opened into a running container (<c>kubectl exec</c>, <c>crictl exec</c>): a process the
/// container runtime started that is not the container's entrypoint, and everything it starts. An operator's diagnosis
/// (a shell running ps, df, cat, env) is what the API server's audit log records, not a page; an attacker with a stolen
/// kubeconfig goes further (a download, a connection, a credential file, a write outside the temp directories, a tool
/// that is no diagnostic). So a session's findings are held while they stay within diagnosis and released, all of them,
/// with the session told, the moment one goes further. A session that ends (its root exits, or
/// <see cref="MaxDuration"/> passes) without going further raises nothing; it is counted.
/// Bounded: <see cref="MaxSessions"/> open sessions per workload, <see cref="MaxProcesses"/> processes and
/// <see cref="MaxHeld"/> held findings each; a session that outgrows them is no quick diagnosis and is released.
/// </summary>
internal sealed class ExecSessions
{
    public const int MaxSessions = 4;
    public const int MaxProcesses = 64;
    public const int MaxHeld = 32;

    /// <summary>Longest a session's findings are held: an interactive diagnosis takes minutes, not hours.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(15);

    /// <summary>How long after a diagnostic session the behaviour models' process and file counts still show it.</summary>
    public static readonly TimeSpan ModelEcho = TimeSpan.FromSeconds(30);

    // Read-only tools an operator runs to look around. Anything else (a package manager, a network tool, an
    // interpreter, a compiler, a binary the image does not ship) ends the benefit of the doubt.
    private static readonly HashSet<string> Diagnostic = new(StringComparer.Ordinal)
    {
        "sh", "bash", "dash", "ash", "zsh", "busybox", "ps", "top", "htop", "df", "du", "free", "uptime", "cat", "ls", "env",
        "printenv", "id", "whoami", "hostname", "uname", "date", "pwd", "echo", "head", "tail", "less", "more", "grep", "wc",
        "stat", "which", "sleep", "true", "false", "test", "[", "tty", "stty", "clear", "tput", "vmstat", "iostat", "lsof",
        "pgrep", "nproc", "lscpu", "sort", "uniq", "cut", "tr", "awk", "sed", "find", "file", "readlink", "realpath", "dirname",
        "basename",
    };

    private readonly List<Session> _open = new(MaxSessions);

    // Findings of sessions that ended within diagnosis, until the baseline takes them (to forget their cooldowns: a
    // diagnosis that raised nothing must not silence the same item from someone else for the cooldown).
    private readonly List<Finding> _dropped = [];
    private DateTimeOffset _lastDiagnosticEnd = DateTimeOffset.MinValue;

    /// <summary>Sessions that ended within diagnosis: their findings were never raised.</summary>
    public long Diagnosed { get; private set; }

    /// <summary>Findings held and then dropped with a session that stayed within diagnosis.</summary>
    public long FindingsDropped { get; private set; }

    /// <summary>Sessions released because one of their findings went beyond diagnosis (or they outgrew the bounds).</summary>
    public long Escalated { get; private set; }

    /// <summary>
    /// True while a session that has stayed within diagnosis is open, or ended within <see cref="ModelEcho"/>: the
    /// behaviour windows count its processes and files.
    /// </summary>
    public bool InDiagnosis(DateTimeOffset now)
    {
        foreach (var s in _open)
        {
            if (!s.Released)
            {
                return true;
            }
        }

        return now - _lastDiagnosticEnd <= ModelEcho;
    }

    /// <summary>
    /// Notes an event's place in the sessions (a session opening, a process joining one, a session ending) before its
    /// findings are judged. <paramref name="runtimeChild"/>: the event is the exec of a process the container runtime
    /// started that is not the container's entrypoint.
    /// </summary>
    public void Track(in RuntimeEvent e, bool runtimeChild, DateTimeOffset now)
    {
        Expire(now);
        if (e.Kind == EventKind.ProcessExec && e.Process.Pid > 0)
        {
            if (runtimeChild && IsTool(e.Process.Exe))
            {
                // Only a shell or a diagnostic tool opens a session: a server the runtime starts without the sensor
                // naming it PID 1 stays the server, and a shell it spawns is the classic exploit, raised at once.
                if (_open.Count >= MaxSessions)
                {
                    // The oldest gives way; it has held only diagnostic findings so far, which is what its end means too.
                    End(0, now);
                }

                _open.Add(new Session(e.Process.Pid, e.Workload.ContainerId, now));
                return;
            }

            if (Find(e.Process.Ppid, e.Workload.ContainerId) is { } parent && !parent.Pids.Contains(e.Process.Pid))
            {
                if (parent.Pids.Count >= MaxProcesses)
                {
                    parent.Overflowed = true;
                }
                else
                {
                    parent.Pids.Add(e.Process.Pid);
                }
            }
        }
    }

    /// <summary>
    /// Judges the findings an event produced (from <paramref name="from"/> on): those of a session still within
    /// diagnosis are held (removed from the list); one that goes further releases its session's held findings into the
    /// list, each telling the session. Call after <see cref="Track"/>; an exit of a session's root ends it afterwards.
    /// </summary>
    public void Judge(in RuntimeEvent e, List<Finding> findings, int from, DateTimeOffset now)
    {
        var session = Find(e.Process.Pid, e.Workload.ContainerId);
        if (session is not null && !session.Released)
        {
            if (session.Overflowed)
            {
                Release(session, findings, from, "it started more than " + MaxProcesses + " processes");
            }
            else
            {
                for (var i = from; i < findings.Count; i++)
                {
                    if (!IsDiagnostic(findings[i], e))
                    {
                        Release(session, findings, from, findings[i].Reason);
                        break;
                    }
                }
            }

            if (!session.Released)
            {
                for (var i = findings.Count - 1; i >= from; i--)
                {
                    if (session.Held.Count >= MaxHeld)
                    {
                        Release(session, findings, from, "it went on for more than " + MaxHeld + " new items");
                        break;
                    }

                    session.Held.Insert(0, findings[i]);
                    session.Steps.Add(Step(findings[i]));
                    findings.RemoveAt(i);
                }
            }
        }

        if (e.Kind == EventKind.ProcessExit && session is not null && session.Root == e.Process.Pid)
        {
            End(_open.IndexOf(session), now);
        }
    }

    /// <summary>Findings dropped with sessions that ended within diagnosis since the last <see cref="ClearDropped"/>.</summary>
    public List<Finding> Dropped => _dropped;

    public void ClearDropped() => _dropped.Clear();

    private static bool IsTool(string? exe) => exe is not null && Diagnostic.Contains(Path.GetFileName(exe));

    private static string Step(in Finding f) => f.Feature switch
    {
        Feature.Exec or Feature.Lineage => Path.GetFileName(f.Item.A),
        _ => f.Item.A,
    };

    /// <summary>A new process or lineage of a read-only tool, or a read of a file that is not a credential.</summary>
    private static bool IsDiagnostic(in Finding f, in RuntimeEvent e) => f.Feature switch
    {
        Feature.Exec or Feature.Lineage => f.Severity < Severity.Critical && IsTool(f.Item.A),
        Feature.File => f.Severity <= Severity.Medium && !SeverityPolicy.IsSensitive(f.Item.A) && !SeverityPolicy.IsWrite(e.FileFlags),
        _ => false,
    };

    private void Release(Session session, List<Finding> findings, int from, string why)
    {
        session.Released = true;
        Escalated++;
        if (session.Held.Count == 0)
        {
            return;
        }

        var steps = string.Join(", ", session.Steps.Distinct().Take(8));
        var told = session.Held.Select(f => f with
        {
            Reason = $"{f.Reason}; part of a session opened in the running container (kubectl exec) that ran {steps}, then went further: {why}",
        });
        findings.InsertRange(from, told);
        session.Held.Clear();
    }

    /// <summary>
    /// The open session the process belongs to. A process is its container and its pid: replicas reuse pids (namespace
    /// pids start at 1 in every pod), and a process in another replica is no part of a session opened here. Containers
    /// compare by their short ids: Tetragon and Falco write one container's id differently.
    /// </summary>
    private Session? Find(int pid, string? container)
    {
        if (pid <= 0)
        {
            return null;
        }

        foreach (var s in _open)
        {
            if (s.Pids.Contains(pid) && WorkloadResolver.SameContainer(s.Container, container))
            {
                return s;
            }
        }

        return null;
    }

    private void Expire(DateTimeOffset now)
    {
        for (var i = _open.Count - 1; i >= 0; i--)
        {
            if (now - _open[i].Since > MaxDuration)
            {
                End(i, now);
            }
        }
    }

    private void End(int index, DateTimeOffset now)
    {
        var s = _open[index];
        _open.RemoveAt(index);
        if (!s.Released)
        {
            Diagnosed++;
            FindingsDropped += s.Held.Count;
            _dropped.AddRange(s.Held);
            _lastDiagnosticEnd = now;
        }
    }

    private sealed class Session(int root, string? container, DateTimeOffset since)
    {
        public int Root { get; } = root;

        public string? Container { get; } = container;

        public DateTimeOffset Since { get; } = since;

        public HashSet<int> Pids { get; } = [root];

        public List<Finding> Held { get; } = [];

        public List<string> Steps { get; } = [];

        public bool Released { get; set; }

        public bool Overflowed { get; set; }
    }
}
