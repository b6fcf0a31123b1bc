using RuntimeSentinel.Core.Events;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>
/// A seeded, ordinary web service: per second a few known executables and files, connections to a handful of
/// backends, a request loop of syscalls in a fixed order (with some jitter), and a resource sample every 5 s.
/// </summary>
internal sealed class SyntheticWorkload(int seed, WorkloadRef? workload = null)
{
    private static readonly string[] Loop = ["epoll_wait", "accept4", "read", "openat", "fstat", "read", "close", "write", "sendto", "recvfrom"];

    private readonly Random _rng = new(seed);
    private readonly WorkloadRef _workload = workload ?? Some.Workload();

    public WorkloadRef Workload => _workload;

    public IEnumerable<RuntimeEvent> Seconds(DateTimeOffset from, int seconds, double cpu = 0.2)
    {
        for (var s = 0; s < seconds; s++)
        {
            var t = from.AddSeconds(s);
            foreach (var e in Second(t, cpu))
            {
                yield return e;
            }
        }
    }

    public IEnumerable<RuntimeEvent> Second(DateTimeOffset t, double cpu = 0.2)
    {
        var execs = _rng.Next(0, 3);
        for (var i = 0; i < execs; i++)
        {
            yield return At(Some.Exec(i % 2 == 0 ? "/usr/bin/node" : "/usr/bin/convert", "/usr/bin/node", _workload), t);
        }

        for (var i = 0; i < 2 + _rng.Next(3); i++)
        {
            yield return At(Some.FileOpen($"/app/static/{_rng.Next(6)}.css", workload: _workload), t);
        }

        for (var i = 0; i < 1 + _rng.Next(2); i++)
        {
            yield return At(Some.Connect($"10.96.0.{5 + _rng.Next(3)}", 5432, _workload), t);
        }

        // Two request loops, one of which sometimes skips the file read (a cached response).
        for (var r = 0; r < 2; r++)
        {
            foreach (var call in Loop)
            {
                if (r == 1 && call is "openat" or "fstat" && _rng.NextDouble() < 0.3)
                {
                    continue;
                }

                yield return At(Syscall(call, 100, "/usr/bin/node"), t);
            }
        }

        if (t.ToUnixTimeSeconds() % 5 == 0)
        {
            yield return At(Some.Resource(cpu + (_rng.NextDouble() * 0.04) - 0.02, (100 << 20) + _rng.Next(1 << 20), _workload), t);
        }
    }

    public RuntimeEvent Syscall(string name, int pid, string exe) =>
        Some.Syscall(name, _workload) with { Process = new ProcessInfo(pid, 1, 1000, exe, null, null) };

    public RuntimeEvent At(RuntimeEvent e, DateTimeOffset t) => e with { Timestamp = t };
}
