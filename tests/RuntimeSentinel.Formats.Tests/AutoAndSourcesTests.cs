using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Lab.Recordings;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Formats.Tests;

public class AutoFormatTests
{
    [SkippableFact]
    public void Read_EverySampleFileWithAuto_AcceptsEveryRecord()
    {
        var root = Datasets.Require("tool-samples", "tool-samples");
        var files = Directory.GetFiles(root, "*.json*", SearchOption.AllDirectories).Where(f => f.EndsWith(".jsonl", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)).ToList();
        Assert.True(files.Count >= 50, $"expected the sample files, found {files.Count}");
        var statuses = new Dictionary<DecodeStatus, int>();
        foreach (var file in files)
        {
            foreach (var r in EventSources.Read(file, "auto"))
            {
                Assert.True(r.Status != DecodeStatus.Rejected, $"{r.Source}:{r.Line}: {r.Error}");
                statuses[r.Status] = statuses.GetValueOrDefault(r.Status) + 1;
            }
        }

        // 62 Tetragon + 30 Falco + 19 Tracee + 1,916 Hubble records.
        Assert.Equal(62 + 30 + 19 + 1916, statuses.Values.Sum());
        Assert.Equal(2 + 11, statuses[DecodeStatus.Ignored]); // Tetragon throttle; Falco audit and internal
    }

    [Fact]
    public void Decode_NativeEvent_IsDecodedByTheNativeDecoder()
    {
        var bytes = Some.Json(Some.Exec("/bin/ls"));
        Assert.Equal(DecodeStatus.Event, EventFormats.Create("auto").Decode(bytes, out var e, out _, out _));
        Assert.Equal("/bin/ls", e.Process.Exe);
    }

    [Theory]
    [InlineData("""{"hello":"world","answer":42}""", DecodeErrorCode.UnknownFormat, "hello, answer")]
    [InlineData("""{"hello":""", DecodeErrorCode.MalformedJson, "")]
    [InlineData("""[1,2,3]""", DecodeErrorCode.NotAnObject, "")]
    [InlineData("", DecodeErrorCode.Empty, "")]
    public void Decode_Unrecognised_RejectsWithClearReason(string json, DecodeErrorCode code, string mentions)
    {
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create("auto").Decode(System.Text.Encoding.UTF8.GetBytes(json), out _, out var error, out _));
        Assert.Equal(code, error.Code);
        Assert.Contains(mentions, error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_SensorEventWithHugeField_IsRejectedByTheSchemaCheck()
    {
        var json = """{"process_exec":{"process":{"binary":"/x","pid":1,"arguments":"A"}},"time":"2024-01-01T00:00:00Z"}""".Replace("\"A\"", "\"" + new string('a', 20_000) + "\"", StringComparison.Ordinal);
        Assert.Equal(DecodeStatus.Rejected, EventFormats.Create("auto").Decode(System.Text.Encoding.UTF8.GetBytes(json), out _, out var error, out _));
        Assert.Equal((DecodeErrorCode.FieldTooLarge, "process.args"), (error.Code, error.Field));
    }

    [Fact]
    public void Create_UnknownName_Throws()
    {
        Assert.Throws<ArgumentException>(() => EventFormats.Create("syslog"));
    }
}

public class RecordingTests
{
    [SkippableFact]
    public void LidDs_Recording_ReadsMetadataAndLabelsByExploitTime()
    {
        var zip = Datasets.Require("lid-ds/aggressive_nightingale_1018.zip", "lid-ds");
        var rec = LidDsRecording.Open(zip);
        Assert.Equal("victim_bruteforce", rec.Image);
        Assert.True(rec.Exploit);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1631078877514), rec.ExploitTime!.Value, TimeSpan.FromMilliseconds(1));
        var events = rec.Events().ToList();
        var syscalls = events.Where(e => e.Kind == EventKind.Syscall).ToList();
        Assert.Equal(11734, syscalls.Count); // one per exit line (README: 11,734 enter + 11,734 exit)
        Assert.Equal(38, syscalls.Select(e => e.SyscallName).Distinct().Count());
        Assert.All(events, e => Assert.Equal(e.Timestamp >= rec.ExploitTime ? "attack:victim_bruteforce" : "normal", e.Labels["scenario"]));
        Assert.Contains(events, e => e.Kind == EventKind.FileOpen && e.FilePath == "/dev/urandom");
        Assert.Contains(events, e => e.Kind == EventKind.NetAccept && e.Net.LocalPort == 443);
        Assert.Contains(events, e => e.Kind == EventKind.ResourceUsage && e.Resource.MemoryBytes > 0);
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Timestamp <= p.Second.Timestamp), "events are in time order");
        Assert.All(events, e => Assert.Equal("apache2", e.Kind == EventKind.ResourceUsage ? "apache2" : e.Process.Exe));
    }

    [SkippableFact]
    public void Adfa_Archive_ReadsSplitsFamiliesAndI386Names()
    {
        var zip = Datasets.Require("adfa-ld/ADFA-LD-traces.zip", "adfa-ld");
        var traces = AdfaLdTraces.Read(zip).ToList();
        Assert.Equal(833, traces.Count(t => t.Split == AdfaLdTraces.Training));
        Assert.Equal(1830, traces.Count(t => t.Split == AdfaLdTraces.Validation));
        Assert.Equal(371, traces.Count(t => t.IsAttack));
        Assert.Equal(["Adduser", "Hydra_FTP", "Web_Shell"], traces.Where(t => t.IsAttack).Select(t => t.Family!).Distinct().Order());
        var first = traces.First(t => t.Path.EndsWith("UTD-0001.txt", StringComparison.Ordinal));
        Assert.Equal([6, 6, 63, 6, 42, 120], first.Calls.Take(6));
        Assert.Equal(["close", "close", "dup2", "close", "pipe", "clone"], first.Calls.Take(6).Select(I386Syscalls.Name));
        Assert.Equal("prlimit64", I386Syscalls.Name(340));
        Assert.Equal("sys_999", I386Syscalls.Name(999));
    }
}
