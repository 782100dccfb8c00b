// Re-exports of lib/data (filled in as the chapter is written).
export {};
