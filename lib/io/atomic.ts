// Atomic file writes (filled in with chapter 1).
export {};
