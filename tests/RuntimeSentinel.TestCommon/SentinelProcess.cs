using System.Diagnostics;
using System.Text;

namespace RuntimeSentinel.TestCommon;

/// <summary>Runs the real <c>sentinel</c> executable (built beside the tests) as a child process.</summary>
public sealed class SentinelProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _admin = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(string Text, TaskCompletionSource<string> Seen)> _awaited = [];
    private int _disposed;

    public SentinelProcess(params string[] args)
        : this(new Dictionary<string, string>(), args)
    {
    }

    /// <param name="environment">Extra environment, e.g. <c>SENTINEL_Detection__MetricsInterval</c>.</param>
    public SentinelProcess(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sentinel.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }

        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stdout)
                {
                    _stdout.AppendLine(e.Data);
                }
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
                foreach (var (text, seen) in _awaited)
                {
                    if (e.Data.Contains(text, StringComparison.Ordinal))
                    {
                        seen.TrySetResult(e.Data);
                    }
                }
            }

            const string marker = " on http://";
            var i = e.Data.IndexOf(marker, StringComparison.Ordinal);
            if (e.Data.StartsWith("RuntimeSentinel serving", StringComparison.Ordinal) && i > 0)
            {
                _address.TrySetResult(e.Data[(i + 4)..].Trim());
            }

            if (e.Data.StartsWith("RuntimeSentinel admin", StringComparison.Ordinal) && i > 0)
            {
                _admin.TrySetResult(e.Data[(i + 4)..].Trim());
            }
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The http://host:port the daemon printed once it was serving.</summary>
    public Task<string> AddressAsync(TimeSpan timeout) => _address.Task.WaitAsync(timeout);

    /// <summary>The admin listener (/workloads) the daemon printed, when it has one.</summary>
    public Task<string> AdminAddressAsync(TimeSpan timeout) => _admin.Task.WaitAsync(timeout);

    /// <summary>
    /// The first line of the daemon's log (stderr) that contains <paramref name="text"/>, whenever it was written: the
    /// signal a test waits for instead of a sleep. Fails with the log's tail when the ceiling passes or the daemon exits.
    /// </summary>
    public async Task<string> LogLineAsync(string text, TimeSpan ceiling)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_stderr)
        {
            var earlier = _stderr.ToString().Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (earlier is not null)
            {
                return earlier;
            }

            _awaited.Add((text, seen));
        }

        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(seen.Task, exited, Task.Delay(ceiling)).ConfigureAwait(false);
        if (first == seen.Task)
        {
            return await seen.Task.ConfigureAwait(false);
        }

        static string Tail(string t) => string.Join('\n', t.Split('\n').TakeLast(40));
        throw new TimeoutException($"no log line containing '{text}' {(first == exited ? "before the daemon exited" : $"within {ceiling.TotalSeconds:0} s")}\n--- stderr (tail) ---\n{Tail(Stderr)}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>
    /// Waits for the exit and fails with what the daemon said when the code is not <paramref name="expected"/>: a
    /// demo's summary and the tail of its log are what tell a missed attack from a stage that stopped.
    /// </summary>
    public async Task AssertExitsWithAsync(int expected, TimeSpan timeout)
    {
        var code = await WaitForExitAsync(timeout);
        if (code != expected)
        {
            static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
            throw new Xunit.Sdk.XunitException($"sentinel exited with {code}, expected {expected}\n--- stdout (tail) ---\n{Tail(Stdout, 40)}\n--- stderr (tail) ---\n{Tail(Stderr, 60)}");
        }
    }

    /// <summary>SIGKILL: no shutdown hook, no flush, no commit, no checkpoint; what a node failure or an OOM kill does.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit(10_000);
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The daemon's process id (its <c>/proc/&lt;pid&gt;</c> shows what it has loaded).</summary>
    public int Id => _process.Id;

    /// <summary>SIGTERM, as Kubernetes stops a pod: the daemon drains, checkpoints, commits and exits; returns its exit code.</summary>
    public async Task<int> StopGracefullyAsync(TimeSpan timeout)
    {
        if (!_process.HasExited && Kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed");
        }

        return await WaitForExitAsync(timeout);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Kills the daemon if it still runs. Safe to call more than once: a test disposes its daemons, and its class again.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }

}
