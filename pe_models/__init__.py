"""What a PE is made of and how its timing behaves with supply voltage."""
