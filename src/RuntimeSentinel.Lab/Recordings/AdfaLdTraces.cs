using System.Globalization;
using System.IO.Compression;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Lab.Recordings;

/// <summary>One ADFA-LD trace: a process's system-call numbers (i386), with its split and label from the path.</summary>
public sealed record AdfaTrace(string Path, string Split, bool IsAttack, string? Family, int[] Calls);

/// <summary>
/// Reads ADFA-LD (<c>ADFA-LD-traces.zip</c>, paths <c>ADFA-LD/&lt;split&gt;/...</c>) as traces, or as native events for replay:
/// one <c>syscall</c> event per call, one process per trace, all on one host workload (<c>adfa-ld/Host/ubuntu</c>),
/// labelled <c>scenario=normal</c> or <c>attack:&lt;family&gt;</c>. The traces carry no times; replay spaces calls 1 ms apart.
/// </summary>
public static class AdfaLdTraces
{
    public const string Training = "Training_Data_Master";
    public const string Validation = "Validation_Data_Master";
    public const string Attack = "Attack_Data_Master";

    public static IEnumerable<AdfaTrace> Read(string zipPath)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        foreach (var entry in zip.Entries.Where(e => e.Name.EndsWith(".txt", StringComparison.Ordinal)).OrderBy(e => e.FullName, StringComparer.Ordinal))
        {
            var parts = entry.FullName.Split('/');
            var split = parts.FirstOrDefault(p => p is Training or Validation or Attack);
            if (split is null)
            {
                continue;
            }

            using var reader = new StreamReader(entry.Open());
            var calls = reader.ReadToEnd().Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
            var isAttack = split == Attack;
            // Attack folders are <Family>_<k> (k = execution 1..10), and families have underscores of their own (Hydra_FTP).
            var family = isAttack && parts[^2].LastIndexOf('_') is > 0 and var cut ? parts[^2][..cut] : isAttack ? parts[^2] : null;
            yield return new AdfaTrace(entry.FullName, split, isAttack, family, calls);
        }
    }

    public static IEnumerable<RuntimeEvent> Events(IEnumerable<AdfaTrace> traces, DateTimeOffset start)
    {
        var workload = new WorkloadRef(null, "adfa-ld", null, null, null, null, null, "Host", "ubuntu-11.04", LabelSet.Empty);
        var t = start;
        var pid = 1000;
        foreach (var trace in traces)
        {
            pid++;
            var labels = LabelSet.Of(("scenario", trace.IsAttack ? "attack:" + trace.Family : "normal"), ("trace", System.IO.Path.GetFileName(trace.Path)));
            foreach (var call in trace.Calls)
            {
                t = t.AddMilliseconds(1);
                yield return new RuntimeEvent
                {
                    Kind = EventKind.Syscall,
                    Timestamp = t,
                    Node = "adfa-ld",
                    Workload = workload,
                    Process = new ProcessInfo(pid, -1, -1, "trace-" + pid.ToString(CultureInfo.InvariantCulture), null, null),
                    SyscallName = I386Syscalls.Name(call),
                    Labels = labels,
                };
            }
        }
    }
}
