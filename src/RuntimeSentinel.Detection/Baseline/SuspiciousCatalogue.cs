using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>One behaviour of the catalogue that an event showed: the baseline item it concerns, and why it matters.</summary>
internal readonly record struct CatalogueMatch(string Id, Feature Feature, FeatureKey Item, string Category, Severity Severity, string Reason);

/// <summary>
/// Behaviour that is suspicious in any container, judged from a workload's first event: the prior that keeps a
/// learning, relearning or adapting workload from being a free pass (an attacker need not wait for learning to end,
/// nor for the next rollout). Short on purpose; each entry says why it is here (docs/alerts.md, "Catalogue"). Not a
/// rule engine: once a workload is active its baseline judges, and a catalogue item is never learned silently, so a
/// workload that really does one of these things is told once per cooldown until an analyst accepts it (feedback).
/// </summary>
internal static class SuspiciousCatalogue
{
    private static readonly string[] Miners = ["xmrig", "minerd", "cpuminer", "xmr-stak", "ethminer", "kdevtmpfsi", "kinsing", "t-rex", "nbminer", "lolminer"];
    private static readonly string[] PoolMarks = ["xmr", "monero", "nicehash", "supportxmr", "nanopool", "2miners", "f2pool", "ethermine", "minergate", "hashvault"];
    private static readonly string[] TempDirs = ["/tmp/", "/dev/shm/", "/var/tmp/", "/run/user/"];
    private static readonly string[] Shells = ["sh", "bash", "dash", "zsh", "ash", "ksh", "csh", "tcsh", "fish", "busybox"];
    private static readonly string[] ReverseShellTools = ["nc", "ncat", "netcat", "socat", "telnet"];

    // Long-running network servers: none of them runs a shell in normal operation, so a shell under one is the shape
    // of a remote code execution (web shell, deserialisation, SQL COPY ... PROGRAM, Redis module).
    private static readonly string[] Servers =
    [
        "nginx", "httpd", "apache2", "lighttpd", "caddy", "php-fpm", "envoy", "haproxy", "traefik", "java", "node", "postgres",
        "postmaster", "mysqld", "mariadbd", "redis-server", "mongod", "memcached", "gunicorn", "uwsgi", "uvicorn", "coredns",
        "ruby", "puma", "unicorn",
    ];

    // Secrets of the node or of users, never of the application's own configuration. (The service-account token is
    // left out on purpose: every Kubernetes client reads it at start-up.)
    private static readonly string[] CredentialPaths =
    [
        "/etc/shadow", "/etc/gshadow", "/root/.ssh/", "/etc/ssh/ssh_host_", "/root/.aws/", "/root/.kube/", "/root/.docker/config.json",
        "/var/lib/kubelet/", "/etc/kubernetes/",
    ];

    private static readonly string[] RuntimeSockets =
    [
        "/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock",
        "/var/run/crio/crio.sock", "/run/crio/crio.sock",
    ];

    // AWS, GCP and Azure (169.254.169.254), AWS over IPv6, ECS task credentials, Alibaba Cloud.
    private static readonly string[] MetadataAddresses = ["169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200"];

    private static readonly string[] ModuleCalls = ["init_module", "finit_module", "delete_module", "do_init_module"];
    private static readonly string[] TraceCalls = ["ptrace", "process_vm_writev", "process_vm_readv"];
    private static readonly string[] NamespaceCalls = ["setns", "unshare", "pivot_root", "mount", "open_by_handle_at"];
    private static readonly string[] CredentialCalls = ["commit_creds", "setuid", "setreuid", "setresuid", "setgid", "setregid", "setresgid"];

    /// <summary>The catalogue entry the event shows, if any (no allocation for the common, unmatched event).</summary>
    public static bool TryMatch(in RuntimeEvent e, string? normalizedPath, out CatalogueMatch match)
    {
        match = default;
        switch (e.Kind)
        {
            case EventKind.ProcessExec when e.Process.Exe is { } exe:
                {
                    var name = SeverityPolicy.BaseName(exe);
                    if (Array.IndexOf(Miners, name) >= 0 || (e.Process.Args?.Contains("stratum+tcp://", StringComparison.OrdinalIgnoreCase) ?? false))
                    {
                        match = new("miner", Feature.Exec, new FeatureKey(exe), AlertCategories.UnexpectedProcess, Severity.Critical, "crypto-miner started");
                        return true;
                    }

                    if (StartsWithAny(exe, TempDirs) || exe.Contains("memfd:", StringComparison.Ordinal) || exe.EndsWith(" (deleted)", StringComparison.Ordinal))
                    {
                        match = new("exec_from_temp", Feature.Exec, new FeatureKey(exe), AlertCategories.UnexpectedProcess, Severity.High, "binary runs from a writable temporary location or from memory");
                        return true;
                    }

                    if (e.Process.ParentExe is { } parent && (Array.IndexOf(Shells, name) >= 0 || Array.IndexOf(ReverseShellTools, name) >= 0)
                        && Array.IndexOf(Servers, ServerName(SeverityPolicy.BaseName(parent))) >= 0)
                    {
                        match = new("shell_under_server", Feature.Lineage, new FeatureKey(exe, parent), AlertCategories.UnexpectedLineage, Severity.High, $"{name} started by the server {SeverityPolicy.BaseName(parent)}");
                        return true;
                    }

                    return false;
                }

            case EventKind.FileOpen when normalizedPath is not null:
                if (normalizedPath.StartsWith("/proc/{n}/root/", StringComparison.Ordinal))
                {
                    // /proc/<pid>/root is that process's filesystem: another container's, or the host's through PID 1.
                    match = new("proc_root", Feature.File, new FeatureKey(normalizedPath), AlertCategories.UnexpectedFile, Severity.High, "file opened through another process's root (/proc/PID/root): another container's or the host's files");
                    return true;
                }

                if (normalizedPath.StartsWith("/var/log/", StringComparison.Ordinal) && (e.FileFlags?.Contains("O_TRUNC", StringComparison.Ordinal) ?? false))
                {
                    match = new("log_truncated", Feature.File, new FeatureKey(normalizedPath), AlertCategories.UnexpectedFile, Severity.High, "log file truncated (evidence removed)");
                    return true;
                }

                if (StartsWithAny(normalizedPath, CredentialPaths))
                {
                    match = new("credential_file", Feature.File, new FeatureKey(normalizedPath), AlertCategories.UnexpectedFile, Severity.High, "node or user credential file opened");
                    return true;
                }

                if (Array.IndexOf(RuntimeSockets, normalizedPath) >= 0)
                {
                    match = new("runtime_socket", Feature.File, new FeatureKey(normalizedPath), AlertCategories.UnexpectedFile, Severity.High, "container runtime socket opened (controls every container on the node)");
                    return true;
                }

                return false;

            case EventKind.Syscall when e.SyscallName is { } call:
                if (Array.IndexOf(ModuleCalls, call) >= 0)
                {
                    match = new("kernel_module", Feature.Syscall, new FeatureKey(call), AlertCategories.UnexpectedSyscall, Severity.Critical, "kernel module loaded from a container");
                    return true;
                }

                if (Array.IndexOf(TraceCalls, call) >= 0)
                {
                    match = new("ptrace", Feature.Syscall, new FeatureKey(call), AlertCategories.UnexpectedSyscall, Severity.High, "another process's memory traced or written");
                    return true;
                }

                if (Array.IndexOf(NamespaceCalls, call) >= 0)
                {
                    match = new("namespace_change", Feature.Syscall, new FeatureKey(call), AlertCategories.UnexpectedSyscall, Severity.High, "namespace or mount change from a container (escape attempt?)");
                    return true;
                }

                if (Array.IndexOf(CredentialCalls, call) >= 0 && e.Process.Uid > 0)
                {
                    // Root dropping privileges is normal start-up; a non-root process changing credentials is not.
                    match = new("privilege_change", Feature.Syscall, new FeatureKey(call), AlertCategories.UnexpectedSyscall, Severity.High, "credentials changed by a non-root process");
                    return true;
                }

                return false;

            case EventKind.NetConnect when e.Net.RemoteIp is { } rip && e.Process.Exe is { } shell && IsShell(shell)
                && System.Net.IPAddress.TryParse(rip, out var remote) && SeverityPolicy.IsPublic(remote):
                // A shell is no network client: bash's /dev/tcp to an outside address is a reverse shell. (Busybox is
                // left out, its wget and nc run as busybox; a readiness loop of wait-for-it in an entrypoint goes to
                // a Service inside the cluster, which is no public address.)
                match = new("shell_connects_out", Feature.Endpoint, new FeatureKey(rip, e.Net.Protocol ?? "tcp", e.Net.RemotePort), AlertCategories.UnexpectedNetwork, Severity.Critical, "a shell connected to an outside address (a reverse shell: bash's /dev/tcp)");
                return true;

            case EventKind.NetConnect when e.Net.RemoteIp is { } ip && Array.IndexOf(MetadataAddresses, ip) >= 0:
                // The node's cloud identity: its role's credentials are one HTTP request away.
                match = new("cloud_metadata", Feature.Endpoint, new FeatureKey(ip, e.Net.Protocol ?? "tcp", e.Net.RemotePort), AlertCategories.UnexpectedNetwork, Severity.High, "cloud instance metadata service contacted (the node role's credentials)");
                return true;

            case EventKind.DnsQuery when e.DnsName is { } dns:
                foreach (var mark in PoolMarks)
                {
                    if (dns.Contains(mark, StringComparison.OrdinalIgnoreCase))
                    {
                        match = new("miner", Feature.Dns, new FeatureKey(NoveltyDetector.NormalizeDns(dns)), AlertCategories.UnexpectedDns, Severity.Critical, "mining pool resolved");
                        return true;
                    }
                }

                return false;

            default:
                return false;
        }
    }

    private static bool IsShell(string exe)
    {
        var name = SeverityPolicy.BaseName(exe);
        return name != "busybox" && Array.IndexOf(Shells, name) >= 0;
    }

    // What a person at a shell runs: interpreters, transfer and network tools, package managers, discovery. In an
    // ephemeral container every one of them is someone at work inside the pod, so each is told (once per cooldown).
    private static readonly string[] HandsOnTools =
    [
        "curl", "wget", "python", "python3", "perl", "apt", "apt-get", "apk", "yum", "dnf", "pip", "pip3", "npm", "id", "whoami",
        "uname", "hostname", "ps", "netstat", "ss", "ip", "ifconfig", "nslookup", "dig", "nmap", "mount", "kubectl", "env", "cat",
    ];

    /// <summary>
    /// Processes an ephemeral container runs (see <see cref="Workloads.AddedContainer.Ephemeral"/>): a shell, a network
    /// tool or anything of <see cref="HandsOnTools"/>, whatever its parent.
    /// </summary>
    public static bool TryMatchEphemeral(in RuntimeEvent e, out CatalogueMatch match)
    {
        match = default;
        if (e.Kind != EventKind.ProcessExec || e.Process.Exe is not { } exe)
        {
            return false;
        }

        var name = SeverityPolicy.BaseName(exe);
        var shell = Array.IndexOf(Shells, name) >= 0;
        if (!shell && Array.IndexOf(ReverseShellTools, name) < 0 && Array.IndexOf(HandsOnTools, name) < 0)
        {
            return false;
        }

        match = new("ephemeral_tool", Feature.Exec, new FeatureKey(exe, e.Process.ParentExe), AlertCategories.UnexpectedProcess, shell ? Severity.High : Severity.Medium, $"{name} run in an ephemeral container added to a running pod");
        return true;
    }

    /// <summary><c>php-fpm8.2</c> and <c>php-fpm: pool www</c> are php-fpm; <c>python3.11</c> servers are named by their module, not here.</summary>
    private static string ServerName(string name) => name.StartsWith("php-fpm", StringComparison.Ordinal) ? "php-fpm" : name;

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
