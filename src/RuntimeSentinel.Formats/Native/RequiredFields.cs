using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Native;

/// <summary>What each event kind cannot be without (docs/events.md): one rule for the native decoder and the sensor formats' validator.</summary>
internal static class RequiredFields
{
    /// <summary>A workload is named by at least one of pod, container id, image or owner.</summary>
    public static bool Identifies(in WorkloadRef w) => w.Pod is not null || w.ContainerId is not null || w.Image is not null || w.OwnerName is not null;

    /// <summary>The first required field the event lacks, by its native name; null when it has them all.</summary>
    public static string? Missing(in RuntimeEvent e) => e.Kind switch
    {
        EventKind.ProcessExec when e.Process.Exe is null => "process.exe",
        EventKind.ProcessExit when e.Process.Pid < 0 && e.Process.Exe is null => "process.pid",
        EventKind.FileOpen when e.FilePath is null => "file.path",
        EventKind.Syscall when e.SyscallName is null => "syscall.name",
        EventKind.NetConnect when e.Net.RemoteIp is null => "net.remote_ip",
        EventKind.NetConnect when e.Net.RemotePort < 0 => "net.remote_port",
        EventKind.NetAccept when e.Net.LocalPort < 0 => "net.local_port",
        EventKind.NetListen when e.Net.LocalPort < 0 => "net.local_port",
        EventKind.NetFlow when e.Net.RemoteIp is null => "net.remote_ip",
        EventKind.SensorAlert when e.Labels[EventLabels.SensorRule] is null => "labels.sensor.rule",
        EventKind.DnsQuery when e.DnsName is null => "dns.name",

        // An absent resource section is ResourceSample.None (every value -1).
        EventKind.ResourceUsage when e.Resource.CpuCores < 0 && e.Resource.MemoryBytes < 0 => "resource.cpu_cores",
        _ => null,
    };
}
