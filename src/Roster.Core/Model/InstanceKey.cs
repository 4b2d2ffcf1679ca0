namespace Roster.Core.Model;

/// <summary>Identifies one instance: unique within its service, which is unique within its namespace.</summary>
public readonly record struct InstanceKey(string Namespace, string Service, string Id)
{
    public override string ToString() => $"{Namespace}/{Service}/{Id}";
}
