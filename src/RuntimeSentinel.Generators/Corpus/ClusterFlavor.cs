namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// How a cluster names and numbers things, after the offerings real clusters run on: node names, node and pod
/// addresses, the Service range (the API server is its first address, the cluster DNS its tenth), the node's upstream
/// resolver and the cloud's instance metadata service.
/// </summary>
internal sealed record ClusterFlavor(string Name, string ServicePrefix, string Upstream, string SearchSuffix, string Registry)
{
    /// <summary>kubeadm on bare metal or VMs: Service range 10.96.0.0/12, Cilium's cluster-pool pod CIDRs.</summary>
    public static readonly ClusterFlavor Kubeadm = new("kubeadm", "10.96.", "192.168.10.1", "", "registry.internal.example:5000");

    /// <summary>EKS: Service range 172.20.0.0/16, pods on VPC addresses (ENI mode), the VPC resolver at .2.</summary>
    public static readonly ClusterFlavor Eks = new("eks", "172.20.", "10.0.0.2", "eu-west-1.compute.internal", "123456789012.dkr.ecr.eu-west-1.amazonaws.com");

    /// <summary>AKS: Service range 10.0.0.0/16, overlay pod CIDRs, Azure's resolver 168.63.129.16.</summary>
    public static readonly ClusterFlavor Aks = new("aks", "10.0.", "168.63.129.16", "", "acmeprod.azurecr.io");

    public static readonly IReadOnlyList<ClusterFlavor> All = [Kubeadm, Eks, Aks];

    public string ApiServer => ServicePrefix + "0.1";

    public string Dns => ServicePrefix + "0.10";

    public string NodeName(Random r, int i) => Name switch
    {
        "eks" => $"ip-10-0-{(i % 3) + 1}-{r.Next(10, 250)}.eu-west-1.compute.internal",
        "aks" => $"aks-nodepool1-{r.Next(10_000_000, 99_999_999)}-vmss{i:000000}",
        _ => $"k8s-worker-{i + 1:00}",
    };

    public string NodeIp(string name, int i) => Name switch
    {
        "eks" => $"10.0.{name.Split('-')[3]}.{name.Split('-')[4].Split('.')[0]}",
        "aks" => $"10.224.0.{4 + i}",
        _ => $"192.168.10.{21 + i}",
    };

    public string PodPrefix(int i, Random r) => Name switch
    {
        "eks" => $"10.0.{(i % 3) + 1}{r.Next(0, 9)}.",
        "aks" => $"10.244.{i}.",
        _ => $"10.0.{i}.",
    };

    /// <summary>Where the API server really listens (kube-proxy or Cilium translate the Service address to it).</summary>
    public string[] ApiEndpoints => Name switch
    {
        "eks" => ["10.0.1.77", "10.0.2.140"],
        "aks" => ["20.61.14.92"],
        _ => ["192.168.10.10"],
    };

    /// <summary>The pod's resolv.conf search list: its namespace's domain, then svc, the cluster, and the cloud's.</summary>
    public IEnumerable<string> Search(string ns)
    {
        yield return $"{ns}.svc.cluster.local";
        yield return "svc.cluster.local";
        yield return "cluster.local";
        if (SearchSuffix.Length > 0)
        {
            yield return SearchSuffix;
        }
    }
}
