namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// Maps a finding to the MITRE ATT&amp;CK technique it most likely represents (Enterprise matrix, containers). The
/// mapping is deliberately conservative: a category maps only where the observed behaviour is the technique. The rules
/// here look at the observed item (a shell or a binary in /tmp are different techniques of one category); where none
/// applies, the category's default from <see cref="AlertCategories"/> does.
/// </summary>
public static class MitreMapping
{
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
            AlertCategories.UnexpectedProcess or AlertCategories.UnexpectedLineage when Miners.Contains(baseName) => MitreTechniques.ResourceHijacking,
            AlertCategories.UnexpectedProcess or AlertCategories.UnexpectedLineage when Shells.Contains(baseName) => MitreTechniques.UnixShell,
            AlertCategories.UnexpectedProcess or AlertCategories.UnexpectedLineage when o.StartsWith("/tmp/", StringComparison.Ordinal) || o.StartsWith("/dev/shm/", StringComparison.Ordinal) => MitreTechniques.IngressToolTransfer,
            AlertCategories.UnexpectedProcess or AlertCategories.UnexpectedLineage when baseName is "nc" or "ncat" or "netcat" or "socat" or "python" or "python3" or "perl" => MitreTechniques.CommandInterpreter,
            AlertCategories.UnexpectedProcess when baseName is "uname" or "id" or "whoami" or "hostname" => MitreTechniques.DiscoverySystem,
            AlertCategories.UnexpectedFile when o.StartsWith("/etc/shadow", StringComparison.Ordinal) || o.StartsWith("/etc/gshadow", StringComparison.Ordinal) => MitreTechniques.ShadowFile,
            AlertCategories.UnexpectedFile when o.Contains("/secrets/kubernetes.io/", StringComparison.Ordinal) => MitreTechniques.ServiceAccountToken,
            AlertCategories.UnexpectedFile when o.EndsWith("docker.sock", StringComparison.Ordinal) || o.EndsWith("containerd.sock", StringComparison.Ordinal) || o.EndsWith("crio.sock", StringComparison.Ordinal) => MitreTechniques.EscapeToHost,
            AlertCategories.UnexpectedFile when o.Contains("/.ssh/", StringComparison.Ordinal) || o.Contains("/.aws/", StringComparison.Ordinal) || o.Contains("/.kube/", StringComparison.Ordinal) => MitreTechniques.UnsecuredCredentials,
            AlertCategories.UnexpectedDns when o.Contains("xmr", StringComparison.Ordinal) || o.Contains("pool", StringComparison.Ordinal) || o.Contains("monero", StringComparison.Ordinal) => MitreTechniques.ResourceHijacking,
            AlertCategories.UnexpectedNetwork when bytesOut >= 10 * 1024 * 1024 => MitreTechniques.ExfilOverC2,
            AlertCategories.UnexpectedNetwork when IsCommonPort(o) => MitreTechniques.AppLayerProtocol,
            AlertCategories.UnexpectedSyscall when o is "setns" or "unshare" or "mount" or "pivot_root" or "open_by_handle_at" => MitreTechniques.EscapeToHost,
            AlertCategories.UnexpectedSyscall when o is "ptrace" or "process_vm_writev" or "process_vm_readv" => MitreTechniques.ProcessInjection,
            AlertCategories.UnexpectedSyscall when o is "init_module" or "finit_module" or "do_init_module" or "delete_module" => MitreTechniques.KernelModules,
            AlertCategories.UnexpectedSyscall when o is "commit_creds" or "setuid" or "setreuid" or "setresuid" or "setgid" or "setregid" or "setresgid" => MitreTechniques.PrivilegeEscalation,
            AlertCategories.ResourceAnomaly when o == "cpu" => MitreTechniques.ResourceHijacking,
            AlertCategories.ResourceSpike when o.StartsWith("spike:cpu", StringComparison.Ordinal) => MitreTechniques.ResourceHijacking,
            AlertCategories.RateSpike when o.StartsWith("spike:bytes_out", StringComparison.Ordinal) => MitreTechniques.ExfilOverC2,
            AlertCategories.RunAnomaly when o == "run:bytes_out" => MitreTechniques.ExfilOverC2,
            // No finer rule: the category's own technique (null where the category alone says nothing about intent).
            _ => AlertCategories.Find(category)?.Technique,
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
