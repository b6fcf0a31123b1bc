namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// Maps a finding to the MITRE ATT&amp;CK technique it most likely represents (Enterprise matrix, containers). The
/// mapping is deliberately conservative: a category maps only where the observed behaviour is the technique.
/// </summary>
public static class MitreMapping
{
    private static readonly MitreTechnique CommandInterpreter = new("Execution", "T1059", "Command and Scripting Interpreter");
    private static readonly MitreTechnique UnixShell = new("Execution", "T1059.004", "Command and Scripting Interpreter: Unix Shell");
    private static readonly MitreTechnique ResourceHijacking = new("Impact", "T1496", "Resource Hijacking");
    private static readonly MitreTechnique ShadowFile = new("Credential Access", "T1003.008", "OS Credential Dumping: /etc/passwd and /etc/shadow");
    private static readonly MitreTechnique UnsecuredCredentials = new("Credential Access", "T1552.001", "Unsecured Credentials: Credentials In Files");
    private static readonly MitreTechnique ServiceAccountToken = new("Credential Access", "T1528", "Steal Application Access Token");
    private static readonly MitreTechnique AppLayerProtocol = new("Command and Control", "T1071", "Application Layer Protocol");
    private static readonly MitreTechnique NonStandardPort = new("Command and Control", "T1571", "Non-Standard Port");
    private static readonly MitreTechnique ExfilOverC2 = new("Exfiltration", "T1041", "Exfiltration Over C2 Channel");
    private static readonly MitreTechnique EscapeToHost = new("Privilege Escalation", "T1611", "Escape to Host");
    private static readonly MitreTechnique ProcessInjection = new("Defense Evasion", "T1055", "Process Injection");
    private static readonly MitreTechnique IngressToolTransfer = new("Command and Control", "T1105", "Ingress Tool Transfer");
    private static readonly MitreTechnique KernelModules = new("Persistence", "T1547.006", "Boot or Logon Autostart Execution: Kernel Modules and Extensions");
    private static readonly MitreTechnique PrivilegeEscalation = new("Privilege Escalation", "T1068", "Exploitation for Privilege Escalation");
    private static readonly MitreTechnique DiscoverySystem = new("Discovery", "T1082", "System Information Discovery");
    private static readonly MitreTechnique PasswordGuessing = new("Credential Access", "T1110.001", "Brute Force: Password Guessing");
    private static readonly MitreTechnique ContainerAdministration = new("Execution", "T1609", "Container Administration Command");

    private static readonly string[] Shells = ["sh", "bash", "dash", "zsh", "ash", "ksh", "busybox"];
    private static readonly string[] Miners = ["xmrig", "minerd", "cpuminer", "xmr-stak", "ethminer", "kdevtmpfsi", "kinsing"];

    /// <param name="observed">The observed item: executable, path, <c>ip:port</c>, DNS name or syscall.</param>
    public static MitreTechnique? For(string category, string observed, long bytesOut = 0)
    {
        var o = observed.ToLowerInvariant();
        var baseName = o.Split(' ')[0];
        baseName = baseName[(baseName.LastIndexOf('/') + 1)..];
        return category switch
        {
            "unexpected_process" or "unexpected_lineage" when Miners.Contains(baseName) => ResourceHijacking,
            "unexpected_process" or "unexpected_lineage" when Shells.Contains(baseName) => UnixShell,
            "unexpected_process" or "unexpected_lineage" when o.StartsWith("/tmp/", StringComparison.Ordinal) || o.StartsWith("/dev/shm/", StringComparison.Ordinal) => IngressToolTransfer,
            "unexpected_process" or "unexpected_lineage" when baseName is "nc" or "ncat" or "netcat" or "socat" or "python" or "python3" or "perl" => CommandInterpreter,
            "unexpected_process" when baseName is "uname" or "id" or "whoami" or "hostname" => DiscoverySystem,
            "unexpected_file" when o.StartsWith("/etc/shadow", StringComparison.Ordinal) || o.StartsWith("/etc/gshadow", StringComparison.Ordinal) => ShadowFile,
            "unexpected_file" when o.Contains("/secrets/kubernetes.io/", StringComparison.Ordinal) => ServiceAccountToken,
            "unexpected_file" when o.EndsWith("docker.sock", StringComparison.Ordinal) || o.EndsWith("containerd.sock", StringComparison.Ordinal) || o.EndsWith("crio.sock", StringComparison.Ordinal) => EscapeToHost,
            "unexpected_file" when o.Contains("/.ssh/", StringComparison.Ordinal) || o.Contains("/.aws/", StringComparison.Ordinal) || o.Contains("/.kube/", StringComparison.Ordinal) => UnsecuredCredentials,
            "unexpected_dns" when o.Contains("xmr", StringComparison.Ordinal) || o.Contains("pool", StringComparison.Ordinal) || o.Contains("monero", StringComparison.Ordinal) => ResourceHijacking,
            "unexpected_network" when bytesOut >= 10 * 1024 * 1024 => ExfilOverC2,
            "unexpected_network" when IsCommonPort(o) => AppLayerProtocol,
            "unexpected_network" => NonStandardPort,
            "unexpected_listen" => NonStandardPort,
            "unexpected_syscall" when o is "setns" or "unshare" or "mount" or "pivot_root" or "open_by_handle_at" => EscapeToHost,
            "unexpected_syscall" when o is "ptrace" or "process_vm_writev" or "process_vm_readv" => ProcessInjection,
            "unexpected_syscall" when o is "init_module" or "finit_module" or "do_init_module" or "delete_module" => KernelModules,
            "unexpected_syscall" when o is "commit_creds" or "setuid" or "setreuid" or "setresuid" or "setgid" or "setregid" or "setresgid" => PrivilegeEscalation,
            "resource_anomaly" when o == "cpu" => ResourceHijacking,
            "resource_spike" when o.StartsWith("spike:cpu", StringComparison.Ordinal) => ResourceHijacking,
            "rate_spike" when o.StartsWith("spike:bytes_out", StringComparison.Ordinal) => ExfilOverC2,
            "run_anomaly" when o == "run:bytes_out" => ExfilOverC2,
            "peer_volume" => ExfilOverC2,
            "failed_sessions" => PasswordGuessing,
            "container_added" => ContainerAdministration,
            _ => null,
        };
    }

    private static bool IsCommonPort(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var slash = endpoint.LastIndexOf('/');
        var port = colon >= 0 ? endpoint[(colon + 1)..(slash > colon ? slash : endpoint.Length)] : "";
        return port is "80" or "443" or "53" or "8080" or "8443";
    }
}
