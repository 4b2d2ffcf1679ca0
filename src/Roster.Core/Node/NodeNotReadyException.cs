namespace Roster.Core.Node;

/// <summary>The node has not caught up with its log yet, or is stopping; try again or another node.</summary>
public sealed class NodeNotReadyException() : Exception("The registry node is not ready.");
