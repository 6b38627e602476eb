// The CUDA streams and events that order NCCL's collectives against pydl's compute stream
// (csrc/nccl.cpp). Plain C++ with opaque handles: nccl_streams.cu implements it in builds with
// the CUDA backend; elsewhere (no CUDA, or the CUDA emulation) available() is false and the
// rest raises.
#pragma once

namespace pydl::nccl::streams {

bool available();
void set_device(int device);
void* comm_stream(int device);  // one non-blocking stream per device, created on first use
void* event_create();           // without timing
void event_destroy(void* event) noexcept;
void record(void* event, void* stream);
void wait(void* stream, void* event);  // the stream waits for the event (not the host)
bool query(void* event);               // whether the work before the event has finished

}  // namespace pydl::nccl::streams
