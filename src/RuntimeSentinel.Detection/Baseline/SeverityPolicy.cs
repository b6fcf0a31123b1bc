using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// How bad a never-seen item is, from what it is (documented in docs/alerts.md, "Severity"). A novel shell in a
/// web server matters more than a novel library path; this is domain knowledge, kept in one reviewed place.
/// </summary>
internal static class SeverityPolicy
{
    private static readonly string[] Shells = ["sh", "bash", "dash", "zsh", "ash", "ksh", "csh", "tcsh", "fish", "busybox"];
    private static readonly string[] NetTools = ["nc", "ncat", "netcat", "socat", "telnet", "nmap", "curl", "wget", "ssh", "scp"];
    private static readonly string[] Interpreters = ["python", "python2", "python3", "perl", "ruby", "php", "node", "lua"];
    private static readonly string[] Miners = ["xmrig", "minerd", "cpuminer", "xmr-stak", "ethminer", "kdevtmpfsi", "kinsing"];
    private static readonly string[] TempDirs = ["/tmp/", "/dev/shm/", "/var/tmp/", "/run/user/"];

    private static readonly string[] SensitivePrefixes =
    [
        "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/root/.ssh/", "/etc/ssh/ssh_host_", "/var/run/secrets/kubernetes.io/",
        "/run/secrets/kubernetes.io/", "/etc/kubernetes/", "/root/.aws/", "/root/.kube/", "/root/.docker/", "/var/lib/kubelet/",
        "/proc/{n}/mem", "/proc/{n}/environ", "/etc/pam.d/", "/etc/ld.so.preload", "/etc/cron", "/var/spool/cron/",
    ];

    private static readonly string[] SystemDirs = ["/etc/", "/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/lib/", "/usr/lib/", "/boot/"];

    private static readonly string[] DangerousSyscalls =
    [
        "ptrace", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "mount", "umount2", "setns",
        "unshare", "bpf", "process_vm_writev", "process_vm_readv", "pivot_root", "keyctl", "add_key", "userfaultfd",
        "open_by_handle_at", "perf_event_open", "personality", "chroot",
    ];

    public static (Severity Severity, string Reason) ForExec(string exe, string? parent)
    {
        var name = BaseName(exe);
        if (Contains(Miners, name))
        {
            return (Severity.Critical, "known crypto-miner binary");
        }

        if (StartsWithAny(exe, TempDirs))
        {
            return (Severity.High, "binary runs from a writable temporary directory");
        }

        if (Contains(Shells, name))
        {
            return (Severity.High, parent is null ? "shell started" : $"shell started by {BaseName(parent)}");
        }

        if (Contains(NetTools, name))
        {
            return (Severity.High, "network tool started");
        }

        if (Contains(Interpreters, name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.')))
        {
            return (Severity.Medium, "interpreter started");
        }

        return (Severity.Medium, "process never run by this workload");
    }

    /// <summary>A known binary under a parent it never had. A shell under a server process is the classic exploit shape.</summary>
    public static (Severity Severity, string Reason) ForLineage(string exe, string parent)
    {
        var name = BaseName(exe);
        var parentName = BaseName(parent);
        var parentIsLauncher = Contains(Shells, parentName) || parentName.StartsWith("runc", StringComparison.Ordinal) || parentName.StartsWith("containerd", StringComparison.Ordinal) || parentName is "tini" or "dumb-init" or "crun";
        if ((Contains(Shells, name) || Contains(NetTools, name)) && !parentIsLauncher)
        {
            return (Severity.High, $"{name} spawned by {parentName}, which never started it before");
        }

        return (Severity.Medium, "known process started by a new parent");
    }

    /// <summary>Credential, secret and loader files: sensitive whoever touches them, whenever.</summary>
    public static bool IsSensitive(string normalizedPath) => StartsWithAny(normalizedPath, SensitivePrefixes);

    /// <summary>Open flags that write (or create, or truncate).</summary>
    public static bool IsWrite(string? flags) =>
        flags is not null && (flags.Contains("WRONLY", StringComparison.Ordinal) || flags.Contains("RDWR", StringComparison.Ordinal) || flags.Contains("CREAT", StringComparison.Ordinal) || flags.Contains("TRUNC", StringComparison.Ordinal));

    public static (Severity Severity, string Reason) ForFile(string normalizedPath, string? flags)
    {
        if (StartsWithAny(normalizedPath, SensitivePrefixes))
        {
            return (Severity.High, "sensitive credential or system file");
        }

        var write = IsWrite(flags);
        if (write && StartsWithAny(normalizedPath, SystemDirs))
        {
            return (Severity.High, "write to a system directory");
        }

        return write ? (Severity.Medium, "file written that the baseline never wrote") : (Severity.Low, "file opened that the baseline never opened");
    }

    public static (Severity Severity, string Reason) ForSyscall(string name) =>
        Contains(DangerousSyscalls, name) ? (Severity.High, "privileged or escape-related system call") : (Severity.Low, "system call never used by this workload");

    public static (Severity Severity, string Reason) ForEndpoint(string ip) =>
        System.Net.IPAddress.TryParse(ip, out var addr) && IsPublic(addr)
            ? (Severity.High, "connection to an external address never contacted")
            : (Severity.Medium, "connection to an internal address never contacted");

    /// <summary>A sensor's rule never seen firing for the workload, at the sensor's own priority (Falco's scale).</summary>
    public static (Severity Severity, string Reason) ForSensorRule(string sensor, string? priority) => priority?.ToLowerInvariant() switch
    {
        "emergency" or "alert" or "critical" => (Severity.Critical, $"{sensor} rule never fired for this workload, priority {priority}"),
        "error" => (Severity.High, $"{sensor} rule never fired for this workload, priority {priority}"),
        "warning" => (Severity.Medium, $"{sensor} rule never fired for this workload, priority {priority}"),
        "notice" => (Severity.Low, $"{sensor} rule never fired for this workload, priority {priority}"),
        _ => (Severity.Info, $"{sensor} rule never fired for this workload, priority {priority ?? "unknown"}"),
    };

    public static (Severity Severity, string Reason) ForDns(string name)
    {
        var n = name.ToLowerInvariant();
        if (n.Contains("xmr", StringComparison.Ordinal) || n.Contains("monero", StringComparison.Ordinal) || n.Contains("nicehash", StringComparison.Ordinal) || n.StartsWith("pool.", StringComparison.Ordinal) || n.Contains(".pool.", StringComparison.Ordinal))
        {
            return (Severity.High, "name looks like a mining pool");
        }

        return (Severity.Medium, "DNS name never resolved by this workload");
    }

    public static bool IsPublic(System.Net.IPAddress addr)
    {
        if (System.Net.IPAddress.IsLoopback(addr))
        {
            return false;
        }

        if (addr.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            if (addr.IsIPv4MappedToIPv6)
            {
                return IsPublic(addr.MapToIPv4());
            }

            var b6 = addr.GetAddressBytes();
            return !(addr.IsIPv6LinkLocal || addr.IsIPv6SiteLocal || (b6[0] & 0xfe) == 0xfc);
        }

        var b = addr.GetAddressBytes();
        return !(b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168) ||
                 (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] == 0 || b[0] >= 224);
    }

    public static string BaseName(string path)
    {
        var i = path.LastIndexOf('/');
        return i >= 0 ? path[(i + 1)..] : path;
    }

    private static bool Contains(string[] set, string value) => Array.IndexOf(set, value) >= 0;

    private static bool StartsWithAny(string s, string[] prefixes)
    {
        foreach (var p in prefixes)
        {
            if (s.StartsWith(p, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
