using Xunit;

namespace RuntimeSentinel.TestCommon;

/// <summary>
/// External programs some tests drive (promtool, prometheus, kubectl, node). Missing ones skip the test with their
/// name, unless <c>SENTINEL_REQUIRE_TOOLS=1</c> (set by .ci/run, which installs them) makes that a failure.
/// </summary>
public static class Tools
{
    public static string Require(string name, string installHint)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        var message = $"'{name}' is not installed ({installHint}).";
        if (Environment.GetEnvironmentVariable("SENTINEL_REQUIRE_TOOLS") == "1")
        {
            throw new InvalidOperationException(message + " SENTINEL_REQUIRE_TOOLS=1 makes this a failure.");
        }

        Skip.If(true, message);
        return name;
    }

    /// <summary>Runs a program to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, string? stdin = null, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Datasets.RepoRoot,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }
}
