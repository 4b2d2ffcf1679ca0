using System.Text.Json;
using Roster.Core.Model;

namespace Roster.Server.Api;

/// <summary>
/// Instances counted by the state an operator cares about, each instance in exactly one: <c>disabled</c>, else
/// <c>drained</c>, else <c>weightZero</c> (registered or overridden to weight 0), else <c>up</c> (takes traffic).
/// </summary>
internal readonly record struct InstanceStates(int Up, int Drained, int Disabled, int WeightZero)
{
    public int Total => Up + Drained + Disabled + WeightZero;

    public static InstanceStates Of(IEnumerable<InstanceRecord> instances)
    {
        int up = 0, drained = 0, disabled = 0, weightZero = 0;
        foreach (var instance in instances)
        {
            if (instance.Operator.Disabled)
            {
                disabled++;
            }
            else if (instance.Operator.Drained)
            {
                drained++;
            }
            else if (instance.EffectiveWeight == 0)
            {
                weightZero++;
            }
            else
            {
                up++;
            }
        }

        return new InstanceStates(up, drained, disabled, weightZero);
    }

    /// <summary>Writes <c>"states": {"up", "drained", "disabled", "weightZero"}</c>.</summary>
    public void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("states"u8);
        writer.WriteNumber("up"u8, Up);
        writer.WriteNumber("drained"u8, Drained);
        writer.WriteNumber("disabled"u8, Disabled);
        writer.WriteNumber("weightZero"u8, WeightZero);
        writer.WriteEndObject();
    }
}
