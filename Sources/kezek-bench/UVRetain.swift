// The only place that touches Unmanaged. A libuv handle's `data` holds a +1 reference to its
// Swift owner from open until the uv_close callback, which drops it and frees the handle.
// Requests (uv_connect_t, uv_write_t) hold an unretained pointer: their callbacks always run
// before the handle's close callback.
import CLibUV

enum UVRetain {
    /// +1 reference to store in `handle.pointee.data` when the handle is opened.
    static func retained(_ owner: AnyObject) -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(owner).toOpaque()
    }

    /// A pointer that does not keep the owner alive (for requests).
    static func unretained(_ owner: AnyObject) -> UnsafeMutableRawPointer {
        Unmanaged.passUnretained(owner).toOpaque()
    }

    /// The owner behind a `data` pointer, without changing its reference count.
    @inline(__always)
    static func owner<T: AnyObject>(_ data: UnsafeMutableRawPointer?, as type: T.Type) -> T {
        Unmanaged<T>.fromOpaque(data!).takeUnretainedValue()
    }

    /// Close a handle allocated with `UnsafeMutablePointer.allocate(capacity: 1)`: the close
    /// callback releases the owner stored in `data` (if any) and frees the handle's memory.
    static func close(_ handle: UnsafeMutablePointer<uv_handle_t>) {
        uv_close(handle) { h in
            guard let h else { return }
            if let data = h.pointee.data {
                h.pointee.data = nil
                Unmanaged<AnyObject>.fromOpaque(data).release()
            }
            UnsafeMutableRawPointer(h).deallocate()
        }
    }
}

/// Casts between libuv handle types (all start with the uv_handle_t fields).
@inline(__always)
func uvHandle<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_handle_t.self)
}

@inline(__always)
func uvStream<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_stream_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_stream_t.self)
}

/// libuv's message for a negative status code.
func uvError(_ status: Int32) -> String {
    String(cString: uv_strerror(status))
}
