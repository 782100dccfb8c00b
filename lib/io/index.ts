// Re-exports of lib/io (filled in as the chapter is written).
export {};
