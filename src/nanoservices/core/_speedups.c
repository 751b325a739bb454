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
 * an ``except`` block). When ``_sink`` is the generator itself the send is
 * PyIter_Send, with no method lookup. Anything but exactly one positional
 * argument (a keyword such as ``timeout=``, a wrong count) goes to the
 * pure-Python ``call``, which stays the reference implementation.
 *
 * Every other method is attached from the pure-Python class at import time
 * (nanoservices.core._accel), so this file holds no behaviour of its own.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

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

/* The pure-Python ``LocalHandle.call`` (set by ``set_fallback``), and interned names. */
static PyObject *fallback_call = NULL;
static PyObject *str_send = NULL;
static PyObject *str_recover = NULL;
static PyObject *str_sink = NULL;

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

/* ``try: return self._sink.send(request)`` and the recovery above. */
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
        PySendResult status = PyIter_Send(sink, request, &result);
        Py_DECREF(sink);
        if (status == PYGEN_NEXT) {
            return result;
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
    PyObject *args[2] = {sink, request};
    result = PyObject_VectorcallMethod(
        str_send, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(sink);
    if (result != NULL) {
        return result;
    }
    return recover(self, request);
}

/* Anything but one positional argument: the pure-Python ``call``. */
static PyObject *
delegate(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (fallback_call == NULL) {
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
    PyObject *result = PyObject_Vectorcall(fallback_call, stack, nargs + 1, kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
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
    if (fallback_call == NULL) {
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
    PyObject *result = PyObject_Call(fallback_call, with_self, kwargs);
    Py_DECREF(with_self);
    return result;
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

static PyObject *
set_fallback(PyObject *Py_UNUSED(module), PyObject *fn)
{
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "set_fallback() needs a callable");
        return NULL;
    }
    Py_INCREF(fn);
    Py_XSETREF(fallback_call, fn);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_fallback", set_fallback, METH_O,
     "Install the pure-Python ``call`` that handles keywords and wrong arity."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "nanoservices.core._speedups",
    .m_doc = "The optional C accelerator for LocalHandle's hot path.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    str_send = PyUnicode_InternFromString("send");
    str_recover = PyUnicode_InternFromString("_recover");
    str_sink = PyUnicode_InternFromString("_sink");
    if (str_send == NULL || str_recover == NULL || str_sink == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    PyObject *type = PyType_FromSpec(&handle_spec);
    if (type == NULL || PyModule_AddObject(module, "LocalHandle", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
