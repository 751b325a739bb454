/* The optional C accelerator for LocalHandle's hot path.
 *
 * One heap type, ``LocalHandle``, with the handle's storage (the same fields as
 * the pure-Python class's __slots__, a weak-reference list, and the vectorcall
 * pointer that lets ``h(x)`` skip the argument tuple) and the two
 * entry points a caller pays for on every request:
 *
 *   h.call(x)   a METH_FASTCALL method, so CPython's specializing interpreter calls
 *               it directly (its fast path for C methods needs the exact type,
 *               which is why this is one type and not a C base under a Python class);
 *   h(x)        the instance's vectorcall (the type's call slot for other callers).
 *
 * Both do what the pure-Python ``call`` does: ``self._sink.send(request)``, and
 * on any exception ``self._recover(request, exc)`` with ``exc`` set as the
 * exception being handled (so what ``_recover`` raises chains to it exactly as in
 * an ``except`` block); a reply that is a ``Stream`` or a ``Refusal`` goes to
 * ``self._plain_reply`` as in Python. When ``_sink`` is the generator itself the
 * send is PyIter_Send, with no method lookup; so it is for a typed service's sink
 * (``CheckedSink``) when the request's class is one its check accepts as it is
 * (``str`` for a ``str`` service, the ``Struct`` class itself) or, for a router,
 * a pair naming a route whose payload that route accepts as it is. Anything but exactly one positional
 * argument (a keyword such as ``timeout=``, a wrong count) goes to the
 * pure-Python ``call``, which stays the reference implementation.
 *
 * Every other method is attached from the pure-Python class at import time
 * (nanoservices.core._accel), so this file holds no behaviour of its own.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <time.h>
#endif

typedef struct {
    PyObject_HEAD
    PyObject *config;
    PyObject *extra;
    PyObject *gen;
    PyObject *sink;
    PyObject *spec;
    PyObject *state;
    PyObject *weakreflist;
    vectorcallfunc vectorcall;  /* h(x) without a tuple: the type's vectorcall */
} HandleObject;

/* The pure-Python ``LocalHandle.call`` and ``SharedHandle.call`` (set by
 * ``set_fallback``), the C handle type, and interned names. */
static PyObject *fallback_call = NULL;
static PyObject *shared_fallback_call = NULL;
static PyTypeObject *handle_type = NULL;
static PyObject *str_call = NULL;
static PyObject *str_send = NULL;
static PyObject *str_recover = NULL;
static PyObject *str_sink = NULL;
static PyObject *str_plain_reply = NULL;

/* The replies ``call()`` does not hand back (``Stream`` and ``Refusal``), and the
 * typed sink's class with the offsets of its ``gen`` and ``fast`` slots: all set
 * by ``set_types``. Until then every reply is handed back and every sink is
 * called through its ``send``. */
static PyTypeObject *stream_type = NULL;
static PyTypeObject *refusal_type = NULL;
static PyTypeObject *checked_sink_type = NULL;
static Py_ssize_t sink_gen_offset = 0;
static Py_ssize_t sink_fast_offset = 0;

/* Take the raised exception (normalized, its traceback attached). */
static PyObject *
take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

/* ``except BaseException as exc: return self._recover(request, exc)`` */
static PyObject *
recover(HandleObject *self, PyObject *request)
{
    PyObject *exc = take_exception();
    if (exc == NULL) {
        return NULL;
    }
    PyObject *previous = PyErr_GetHandledException();
    PyErr_SetHandledException(exc);
    PyObject *args[3] = {(PyObject *)self, request, exc};
    PyObject *result = PyObject_VectorcallMethod(
        str_recover, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    PyErr_SetHandledException(previous);
    Py_XDECREF(previous);
    Py_DECREF(exc);
    return result;
}

/* The reply ``call()`` returns: the service's own, or (for a ``Stream`` or a
 * ``Refusal``, told apart by a pointer comparison) what ``self._plain_reply``
 * makes of it, the error that says so. Steals ``result``. */
#if defined(__GNUC__) || defined(__clang__)
#define NS_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define NS_LIKELY(x) (x)
#endif

static inline PyObject *
plain_reply(HandleObject *self, PyObject *request, PyObject *result)
{
    PyTypeObject *kind = Py_TYPE(result);
    if (NS_LIKELY(kind != stream_type && kind != refusal_type)) {
        return result;
    }
    PyObject *args[3] = {(PyObject *)self, request, result};
    PyObject *out = PyObject_VectorcallMethod(
        str_plain_reply, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(result);
    return out;
}

/* ``gen.send(request)`` by PyIter_Send, then as above; on an exception, the recovery. */
static inline PyObject *
generator_send(HandleObject *self, PyObject *gen, PyObject *request)
{
    PyObject *result;
    /* PyIter_Send's own first step, for an exact generator: its type's am_send */
    PySendResult status = PyGen_Type.tp_as_async->am_send(gen, request, &result);
    if (status == PYGEN_NEXT) {
        return plain_reply(self, request, result);
    }
    if (status == PYGEN_RETURN) {
        /* gen.send raises StopIteration(value) when the generator returns */
        PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, result);
        Py_DECREF(result);
        if (stop != NULL) {
            PyErr_SetObject(PyExc_StopIteration, stop);
            Py_DECREF(stop);
        }
    }
    return recover(self, request);
}

/* Whether a typed sink's ``fast`` accepts ``request`` as it is, as its check
 * would: a tuple of classes (the request's exact class is one of them), or a
 * router's dict of route keys (a pair, iterated as a tuple is, whose key is one
 * of them and whose payload that route accepts: None for any payload, else the
 * route's own form, tested the same way). No: the sink's own ``send`` decides
 * (and explains a refusal). */
static int
fast_accepts(PyObject *fast, PyObject *request)
{
    if (PyTuple_CheckExact(fast)) {
        PyObject *kind = (PyObject *)Py_TYPE(request);
        Py_ssize_t n = PyTuple_GET_SIZE(fast);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (PyTuple_GET_ITEM(fast, i) == kind) {
                return 1;
            }
        }
        return 0;
    }
    if (PyDict_CheckExact(fast) && PyTuple_Check(request)
        && Py_TYPE(request)->tp_iter == PyTuple_Type.tp_iter && PyTuple_GET_SIZE(request) == 2) {
        PyObject *payload_form = PyDict_GetItemWithError(fast, PyTuple_GET_ITEM(request, 0));
        if (payload_form == NULL) {
            PyErr_Clear();  /* no such route, or an unhashable key: the slow path says so */
            return 0;
        }
        PyObject *payload = PyTuple_GET_ITEM(request, 1);
        if (payload_form == Py_None || payload == Py_None) {
            return 1;  /* a route with no check, or PEP 380's next(): always routed */
        }
        if (Py_EnterRecursiveCall(" in a router's request check")) {
            PyErr_Clear();
            return 0;
        }
        Py_INCREF(payload_form);  /* a key's __eq__ may have changed the dict */
        int accepted = fast_accepts(payload_form, payload);
        Py_DECREF(payload_form);
        Py_LeaveRecursiveCall();
        return accepted;
    }
    return 0;
}

/* ``try: reply = self._sink.send(request)``, the recovery above, and the reply's
 * type. A typed sink whose fast test accepts the request sends to its generator
 * directly. */
static PyObject *
handle_send(HandleObject *self, PyObject *request)
{
    PyObject *sink = self->sink;
    PyObject *result;
    if (sink == NULL) {
        /* Never set (an __init__ that raised): the same AttributeError Python gives. */
        sink = PyObject_GetAttr((PyObject *)self, str_sink);
        if (sink == NULL) {
            return recover(self, request);
        }
    }
    else {
        Py_INCREF(sink);  /* the service may swap the sink while it runs */
    }
    if (PyGen_CheckExact(sink)) {
        result = generator_send(self, sink, request);
        Py_DECREF(sink);
        return result;
    }
    PyTypeObject *kind = Py_TYPE(sink);
    if (checked_sink_type != NULL && (kind == checked_sink_type || kind->tp_base == checked_sink_type)) {
        PyObject *gen = *(PyObject **)((char *)sink + sink_gen_offset);
        PyObject *fast = *(PyObject **)((char *)sink + sink_fast_offset);
        if (gen != NULL && fast != NULL && PyGen_CheckExact(gen) && fast_accepts(fast, request)) {
            Py_INCREF(gen);
            Py_DECREF(sink);
            result = generator_send(self, gen, request);
            Py_DECREF(gen);
            return result;
        }
    }
    PyObject *args[2] = {sink, request};
    result = PyObject_VectorcallMethod(
        str_send, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(sink);
    if (result != NULL) {
        return plain_reply(self, request, result);
    }
    return recover(self, request);
}

/* Anything but one positional argument: the pure-Python ``call``. */
static PyObject *
delegate_to(PyObject *fallback, PyObject *self, PyObject *const *args, size_t nargsf,
            PyObject *kwnames)
{
    if (fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "nanoservices._speedups: no fallback installed");
        return NULL;
    }
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    Py_ssize_t total = nargs + nkw;
    PyObject *small[8];
    PyObject **stack = small;
    if (total + 1 > 8) {
        stack = PyMem_Malloc((size_t)(total + 1) * sizeof(PyObject *));
        if (stack == NULL) {
            return PyErr_NoMemory();
        }
    }
    stack[0] = self;
    for (Py_ssize_t i = 0; i < total; i++) {
        stack[i + 1] = args[i];
    }
    PyObject *result = PyObject_Vectorcall(fallback, stack, nargs + 1, kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return result;
}

static PyObject *
delegate(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return delegate_to(fallback_call, self, args, nargsf, kwnames);
}

/* A tp_call with other arguments than one positional: ``fallback(self, *args, **kwargs)``. */
static PyObject *
call_with_self(PyObject *fallback, PyObject *self, PyObject *args, PyObject *kwargs)
{
    if (fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "nanoservices._speedups: no fallback installed");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *with_self = PyTuple_New(n + 1);
    if (with_self == NULL) {
        return NULL;
    }
    Py_INCREF(self);
    PyTuple_SET_ITEM(with_self, 0, self);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(args, i);
        Py_INCREF(item);
        PyTuple_SET_ITEM(with_self, i + 1, item);
    }
    PyObject *result = PyObject_Call(fallback, with_self, kwargs);
    Py_DECREF(with_self);
    return result;
}

static PyObject *
handle_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs == 1 && kwnames == NULL) {
        return handle_send((HandleObject *)self, args[0]);
    }
    return delegate(self, args, (size_t)nargs, kwnames);
}

static PyObject *
handle_tp_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) == 1 && (kwargs == NULL || PyDict_GET_SIZE(kwargs) == 0)) {
        return handle_send((HandleObject *)self, PyTuple_GET_ITEM(args, 0));
    }
    return call_with_self(fallback_call, self, args, kwargs);
}

static PyObject *
handle_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) == 1 && kwnames == NULL) {
        return handle_send((HandleObject *)self, args[0]);
    }
    return delegate(self, args, nargsf, kwnames);
}

static PyObject *
handle_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    HandleObject *self = (HandleObject *)PyType_GenericNew(type, args, kwargs);
    if (self != NULL) {
        self->vectorcall = handle_vectorcall;
    }
    return (PyObject *)self;
}

static int
handle_traverse(HandleObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->config);
    Py_VISIT(self->extra);
    Py_VISIT(self->gen);
    Py_VISIT(self->sink);
    Py_VISIT(self->spec);
    Py_VISIT(self->state);
    return 0;
}

static int
handle_clear(HandleObject *self)
{
    Py_CLEAR(self->config);
    Py_CLEAR(self->extra);
    Py_CLEAR(self->gen);
    Py_CLEAR(self->sink);
    Py_CLEAR(self->spec);
    Py_CLEAR(self->state);
    return 0;
}

static void
handle_dealloc(HandleObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    handle_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyMethodDef handle_methods[] = {
    {"call", (PyCFunction)(void (*)(void))handle_call, METH_FASTCALL | METH_KEYWORDS,
     "call($self, request, /)\n--\n\nSend ``request`` and return the service's reply."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef handle_members[] = {
    {"_config", T_OBJECT_EX, offsetof(HandleObject, config), 0, NULL},
    {"_extra", T_OBJECT_EX, offsetof(HandleObject, extra), 0, NULL},
    {"_gen", T_OBJECT_EX, offsetof(HandleObject, gen), 0, NULL},
    {"_sink", T_OBJECT_EX, offsetof(HandleObject, sink), 0, NULL},
    {"_spec", T_OBJECT_EX, offsetof(HandleObject, spec), 0, NULL},
    {"_state", T_OBJECT_EX, offsetof(HandleObject, state), 0, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(HandleObject, weakreflist), READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(HandleObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot handle_slots[] = {
    {Py_tp_new, handle_new},
    {Py_tp_dealloc, handle_dealloc},
    {Py_tp_traverse, handle_traverse},
    {Py_tp_clear, handle_clear},
    {Py_tp_call, handle_tp_call},
    {Py_tp_methods, handle_methods},
    {Py_tp_members, handle_members},
    {0, NULL},
};

static PyType_Spec handle_spec = {
    .name = "nanoservices.core._handle.LocalHandle",
    .basicsize = sizeof(HandleObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = handle_slots,
};

/* ---------------------------------------------------------------------------
 * The shared handle's lock: a PyThread lock in a small object.
 *
 * It behaves as ``threading.Lock`` for the pure-Python methods that use it
 * (``acquire(blocking=True, timeout=-1)``, ``release()``, ``locked()``, the
 * context manager), and the C ``SharedHandle.call`` takes it without a method
 * call. While a C call holds it, ``call_owner`` is that thread's identifier (0
 * otherwise): the pure-Python slow path reads it to tell re-entry (this thread
 * already holds the turn) from contention, since a C call leaves no frame.
 */

typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock;
    int locked;
    unsigned long call_owner;
} LockObject;

static PyTypeObject *lock_type = NULL;

static PyObject *
lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "SharedLock() takes no arguments");
        return NULL;
    }
    LockObject *self = (LockObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->lock = PyThread_allocate_lock();
    if (self->lock == NULL) {
        Py_DECREF(self);
        PyErr_SetString(PyExc_MemoryError, "cannot allocate a lock");
        return NULL;
    }
    return (PyObject *)self;
}

static void
lock_dealloc(LockObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    if (self->lock != NULL) {
        if (self->locked) {
            PyThread_release_lock(self->lock);
        }
        PyThread_free_lock(self->lock);
    }
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* Monotonic microseconds, for the remaining wait after a signal woke the waiter. */
static long long
monotonic_us(void)
{
#ifdef _WIN32
    return (long long)GetTickCount64() * 1000;
#else
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
#endif
}

/* Wait up to ``us`` microseconds (-1: for ever) with the GIL released; signal
 * handlers run while waiting (an exception from one ends the wait: -1). */
static int
lock_wait(LockObject *self, long long us)
{
    PyLockStatus status = PyThread_acquire_lock_timed(self->lock, 0, 0);
    if (status == PY_LOCK_ACQUIRED || us == 0) {
        return status == PY_LOCK_ACQUIRED;
    }
    long long until = us > 0 ? monotonic_us() + us : 0;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        status = PyThread_acquire_lock_timed(self->lock, (PY_TIMEOUT_T)us, 1);
        Py_END_ALLOW_THREADS
        if (status != PY_LOCK_INTR) {
            return status == PY_LOCK_ACQUIRED;
        }
        if (Py_MakePendingCalls() < 0) {
            return -1;
        }
        if (us > 0) {
            us = until - monotonic_us();
            if (us <= 0) {
                return PyThread_acquire_lock_timed(self->lock, 0, 0) == PY_LOCK_ACQUIRED;
            }
        }
    }
}

static PyObject *
lock_acquire(LockObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"blocking", "timeout", NULL};
    int blocking = 1;
    double timeout = -1.0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|pd:acquire", keywords, &blocking, &timeout)) {
        return NULL;
    }
    long long us;
    if (!blocking) {
        if (timeout != -1.0) {
            PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
            return NULL;
        }
        us = 0;
    }
    else if (timeout == -1.0) {
        us = -1;
    }
    else if (timeout < 0) {
        PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
        return NULL;
    }
    else {
        double micro = timeout * 1e6;
        if (micro > (double)PY_TIMEOUT_MAX) {
            PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
            return NULL;
        }
        us = (long long)micro;
    }
    int got = lock_wait(self, us);
    if (got < 0) {
        return NULL;
    }
    if (got) {
        self->locked = 1;
    }
    return PyBool_FromLong(got);
}

static PyObject *
lock_release(LockObject *self, PyObject *Py_UNUSED(ignored))
{
    if (!self->locked) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return NULL;
    }
    self->locked = 0;
    self->call_owner = 0;
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

static PyObject *
lock_exit(LockObject *self, PyObject *Py_UNUSED(args))
{
    return lock_release(self, NULL);
}

static PyObject *
lock_locked(LockObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(self->locked);
}

static PyMethodDef lock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))lock_acquire, METH_VARARGS | METH_KEYWORDS,
     "Take the lock (as threading.Lock.acquire): whether it was taken."},
    {"__enter__", (PyCFunction)(void (*)(void))lock_acquire, METH_VARARGS | METH_KEYWORDS,
     "Take the lock, waiting as long as it takes."},
    {"release", (PyCFunction)lock_release, METH_NOARGS, "Give the lock back."},
    {"__exit__", (PyCFunction)lock_exit, METH_VARARGS, "Give the lock back."},
    {"locked", (PyCFunction)lock_locked, METH_NOARGS, "Whether the lock is taken."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef lock_members[] = {
    {"call_owner", T_ULONG, offsetof(LockObject, call_owner), READONLY,
     "The thread whose C call holds the lock (0: none)."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot lock_slots[] = {
    {Py_tp_new, lock_new},
    {Py_tp_dealloc, lock_dealloc},
    {Py_tp_methods, lock_methods},
    {Py_tp_members, lock_members},
    {Py_tp_doc, "The shared handle's lock (as threading.Lock; the C call takes it directly)."},
    {0, NULL},
};

static PyType_Spec lock_spec = {
    .name = "nanoservices.core._speedups.SharedLock",
    .basicsize = sizeof(LockObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = lock_slots,
};

/* ---------------------------------------------------------------------------
 * SharedHandle: the pure-Python class's fields, and its call and __call__.
 *
 * The uncontended call, with no deadline (neither ``timeout=`` nor the handle's
 * default): take the lock without waiting, note this thread in the lock, call
 * the inner handle (the C handle's send directly when it is the C type), give
 * the lock back. A taken lock, a default deadline, a keyword or any other
 * arity: the pure-Python ``call``, which waits, tells re-entry from contention,
 * and counts deadlines.
 */

typedef struct {
    PyObject_HEAD
    PyObject *default_;
    PyObject *handle;
    PyObject *lock;
    PyObject *open_stream;
    PyObject *owner;
    PyObject *timeout;
    vectorcallfunc vectorcall;
} SharedObject;

static PyObject *
shared_send(SharedObject *self, PyObject *request)
{
    PyObject *lock = self->lock;
    if (lock == NULL || !Py_IS_TYPE(lock, lock_type)
        || (self->default_ != NULL && self->default_ != Py_None) || self->handle == NULL) {
        return NULL;  /* the caller delegates: no error set */
    }
    LockObject *held = (LockObject *)lock;
    if (PyThread_acquire_lock_timed(held->lock, 0, 0) != PY_LOCK_ACQUIRED) {
        return NULL;
    }
    held->locked = 1;
    held->call_owner = PyThread_get_thread_ident();
    Py_INCREF(lock);  /* both may be replaced while the service runs */
    PyObject *handle = self->handle;
    Py_INCREF(handle);
    PyObject *result;
    if (Py_IS_TYPE(handle, handle_type)) {
        result = handle_send((HandleObject *)handle, request);
    }
    else {
        PyObject *args[2] = {handle, request};
        result = PyObject_VectorcallMethod(
            str_call, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    Py_DECREF(handle);
    if (held->locked) {  /* (a Python method given the lock's own release never runs here) */
        held->call_owner = 0;
        held->locked = 0;
        PyThread_release_lock(held->lock);
    }
    Py_DECREF(lock);
    return result;
}

/* The fast path's answer, or (no answer and no error) the pure-Python ``call``. */
static PyObject *
shared_one(PyObject *self, PyObject *request)
{
    PyObject *result = shared_send((SharedObject *)self, request);
    if (result != NULL || PyErr_Occurred()) {
        return result;
    }
    PyObject *args[1] = {request};
    return delegate_to(shared_fallback_call, self, args, 1, NULL);
}

static PyObject *
shared_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs == 1 && kwnames == NULL) {
        return shared_one(self, args[0]);
    }
    return delegate_to(shared_fallback_call, self, args, (size_t)nargs, kwnames);
}

static PyObject *
shared_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) == 1 && kwnames == NULL) {
        return shared_one(self, args[0]);
    }
    return delegate_to(shared_fallback_call, self, args, nargsf, kwnames);
}

static PyObject *
shared_tp_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) == 1 && (kwargs == NULL || PyDict_GET_SIZE(kwargs) == 0)) {
        return shared_one(self, PyTuple_GET_ITEM(args, 0));
    }
    return call_with_self(shared_fallback_call, self, args, kwargs);
}

static PyObject *
shared_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    SharedObject *self = (SharedObject *)PyType_GenericNew(type, args, kwargs);
    if (self != NULL) {
        self->vectorcall = shared_vectorcall;
    }
    return (PyObject *)self;
}

static int
shared_traverse(SharedObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->default_);
    Py_VISIT(self->handle);
    Py_VISIT(self->lock);
    Py_VISIT(self->open_stream);
    Py_VISIT(self->owner);
    Py_VISIT(self->timeout);
    return 0;
}

static int
shared_clear(SharedObject *self)
{
    Py_CLEAR(self->default_);
    Py_CLEAR(self->handle);
    Py_CLEAR(self->lock);
    Py_CLEAR(self->open_stream);
    Py_CLEAR(self->owner);
    Py_CLEAR(self->timeout);
    return 0;
}

static void
shared_dealloc(SharedObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    shared_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyMethodDef shared_methods[] = {
    {"call", (PyCFunction)(void (*)(void))shared_call, METH_FASTCALL | METH_KEYWORDS,
     "call($self, request, /, timeout=None)\n--\n\n"
     "Wait for a turn, then send ``request`` and return the reply."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef shared_members[] = {
    {"_default", T_OBJECT_EX, offsetof(SharedObject, default_), 0, NULL},
    {"_handle", T_OBJECT_EX, offsetof(SharedObject, handle), 0, NULL},
    {"_lock", T_OBJECT_EX, offsetof(SharedObject, lock), 0, NULL},
    {"_open_stream", T_OBJECT_EX, offsetof(SharedObject, open_stream), 0, NULL},
    {"_owner", T_OBJECT_EX, offsetof(SharedObject, owner), 0, NULL},
    {"_timeout", T_OBJECT_EX, offsetof(SharedObject, timeout), 0, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(SharedObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot shared_slots[] = {
    {Py_tp_new, shared_new},
    {Py_tp_dealloc, shared_dealloc},
    {Py_tp_traverse, shared_traverse},
    {Py_tp_clear, shared_clear},
    {Py_tp_call, shared_tp_call},
    {Py_tp_methods, shared_methods},
    {Py_tp_members, shared_members},
    {0, NULL},
};

static PyType_Spec shared_spec = {
    .name = "nanoservices.core._shared.SharedHandle",
    .basicsize = sizeof(SharedObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = shared_slots,
};

/* ``set_fallback(name, fn)``: the pure-Python ``call`` of ``LocalHandle`` or
 * ``SharedHandle``, for keywords, other arities and (shared) the slow path. */
static PyObject *
set_fallback(PyObject *Py_UNUSED(module), PyObject *args)
{
    const char *name;
    PyObject *fn;
    if (!PyArg_ParseTuple(args, "sO:set_fallback", &name, &fn)) {
        return NULL;
    }
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "set_fallback() needs a callable");
        return NULL;
    }
    PyObject **slot;
    if (strcmp(name, "LocalHandle") == 0) {
        slot = &fallback_call;
    }
    else if (strcmp(name, "SharedHandle") == 0) {
        slot = &shared_fallback_call;
    }
    else {
        PyErr_Format(PyExc_ValueError, "set_fallback(): no C type %s", name);
        return NULL;
    }
    Py_INCREF(fn);
    Py_XSETREF(*slot, fn);
    Py_RETURN_NONE;
}

/* The offset of ``type``'s __slots__ field ``name`` (an object slot). */
static int
slot_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL) {
        return -1;
    }
    int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type)
             && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
    if (ok) {
        *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    Py_DECREF(descr);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "set_types(): %s.%s is not a __slots__ field",
                     type->tp_name, name);
        return -1;
    }
    return 0;
}

/* ``set_types(stream, refusal, checked_sink)``: the marker replies ``call()``
 * refuses, and the typed sink class (slots ``gen`` and ``fast``). */
static PyObject *
set_types(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *stream, *refusal, *sink;
    if (!PyArg_ParseTuple(args, "O!O!O!:set_types", &PyType_Type, &stream, &PyType_Type,
                          &refusal, &PyType_Type, &sink)) {
        return NULL;
    }
    Py_ssize_t gen_offset, fast_offset;
    if (slot_offset((PyTypeObject *)sink, "gen", &gen_offset) < 0
        || slot_offset((PyTypeObject *)sink, "fast", &fast_offset) < 0) {
        return NULL;
    }
    Py_INCREF(stream);
    Py_XSETREF(stream_type, (PyTypeObject *)stream);
    Py_INCREF(refusal);
    Py_XSETREF(refusal_type, (PyTypeObject *)refusal);
    Py_INCREF(sink);
    Py_XSETREF(checked_sink_type, (PyTypeObject *)sink);
    sink_gen_offset = gen_offset;
    sink_fast_offset = fast_offset;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_types", set_types, METH_VARARGS,
     "Install the marker reply types and the typed sink class."},
    {"set_fallback", set_fallback, METH_VARARGS,
     "Install a type's pure-Python ``call`` (keywords, other arities, the slow path)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "nanoservices.core._speedups",
    .m_doc = "The optional C accelerator for the local and shared handles' hot paths.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    str_send = PyUnicode_InternFromString("send");
    str_recover = PyUnicode_InternFromString("_recover");
    str_sink = PyUnicode_InternFromString("_sink");
    str_call = PyUnicode_InternFromString("call");
    str_plain_reply = PyUnicode_InternFromString("_plain_reply");
    if (str_send == NULL || str_recover == NULL || str_sink == NULL || str_call == NULL
        || str_plain_reply == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    PyObject *type = PyType_FromSpec(&handle_spec);
    if (type == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    handle_type = (PyTypeObject *)type;  /* the module's reference keeps it */
    if (PyModule_AddObject(module, "LocalHandle", type) < 0) {
        Py_DECREF(type);
        Py_DECREF(module);
        return NULL;
    }
    PyObject *lock = PyType_FromSpec(&lock_spec);
    if (lock == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    lock_type = (PyTypeObject *)lock;
    if (PyModule_AddObject(module, "SharedLock", lock) < 0) {
        Py_DECREF(lock);
        Py_DECREF(module);
        return NULL;
    }
    PyObject *shared = PyType_FromSpec(&shared_spec);
    if (shared == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    /* the C type's own lock, made by the shared __init__ attached from Python */
    if (PyObject_SetAttrString(shared, "_new_lock", lock) < 0
        || PyModule_AddObject(module, "SharedHandle", shared) < 0) {
        Py_DECREF(shared);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
