namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Falco alerts as falcosidekick forwards them, with the <c>output_fields</c> Falco's default rules print: the
/// container (its own name for a sidecar or debug container), the pod, the process and its parent, the fd.
/// </summary>
internal readonly struct Falco(ClusterWorld w)
{
    public void Alert(string rule, string priority, string output, DateTimeOffset t, CorpusPod pod, Proc p, string? fd, string evtType, params string[] tags)
    {
        var image = pod.Image.Split(':');
        var fields = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["container.id"] = pod.ContainerId["containerd://".Length..][..12],
            ["container.image.repository"] = image[0],
            ["container.image.tag"] = image.Length > 1 ? image[1] : "latest",
            ["container.name"] = pod.ContainerName ?? pod.Workload.Container,
            ["evt.type"] = evtType,
            ["fd.name"] = fd,
            ["k8s.ns.name"] = pod.Workload.Namespace,
            ["k8s.pod.name"] = pod.Name,
            ["proc.cmdline"] = $"{Path.GetFileName(p.Binary)} {p.Args}".Trim(),
            ["proc.exepath"] = p.Binary,
            ["proc.name"] = Path.GetFileName(p.Binary),
            ["proc.pid"] = p.Pid,
            ["proc.pname"] = p.Parent is { } parent ? Path.GetFileName(parent.Binary) : null,
            ["user.name"] = p.Uid == 0 ? "root" : $"uid{p.Uid}",
            ["user.uid"] = p.Uid,
        };
        w.Emit(t, "falco", SensorJson.Falco(rule, priority, output, t, pod.Node.Name, fields, tags));
    }
}
