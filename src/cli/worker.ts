/** The piscina worker: runs one campaign chunk. Plain data in, plain data out. */
import { runChunk, type ChunkResult, type ChunkTask } from './campaign.js';

export default function runChunkTask(task: ChunkTask): ChunkResult {
  return runChunk(task);
}
