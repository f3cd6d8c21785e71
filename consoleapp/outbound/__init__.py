"""Safe outgoing HTTP: the one rule for which addresses may be called, total deadlines and size
caps, used by the forms (a typed URL) and by every client (when it connects)."""
