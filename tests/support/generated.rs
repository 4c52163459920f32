//! Components made to stall a host that loads them, generated rather than
//! built: valid components that are costly to compile or to reflect on.

use wasm_encoder::{
    BlockType, CodeSection, ComponentBuilder, ComponentExportKind, ExportKind, ExportSection,
    Function, FunctionSection, Module, ModuleArg, TypeSection, ValType,
};

/// A compile bomb: one core function with `n` locals, each set, then `n`
/// blocks that each end where a branch also lands, then every local read:
///
/// ```wat
/// (func (param i32) (result i32) (local i32 × n)
///   (local.set 1 (i32.add (i32.const 1) (local.get 0))) …      ;; n times
///   (block (br_if 0 (local.get 0))) …                          ;; n times
///   (local.get 0) (i32.add (local.get 1)) …)                   ;; n times
/// ```
///
/// Every local is live across every block end, a merge point, so SSA
/// construction takes time and memory quadratic in `n`. With `n` = 4,000
/// (80 KB), on the 2-core machine this was written on: 45 s (30 s of CPU)
/// in the debug build the tests use (200 MB resident after 10 s); 6 s and
/// 2.1 GB resident in a release build, where the compiler's default 2 GiB
/// address space stops it after 2.7 s.
pub fn compile_bomb(n: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut body = Function::new([(n, ValType::I32)]);
    let mut code = body.instructions();
    for i in 1..n {
        code.i32_const(i as i32).local_get(0).i32_add().local_set(i);
    }
    for _ in 0..n {
        code.block(BlockType::Empty).local_get(0).br_if(0).end();
    }
    code.local_get(0);
    for i in 1..n {
        code.local_get(i).i32_add();
    }
    code.end();
    let mut bodies = CodeSection::new();
    bodies.function(&body);
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&bodies);
    let mut component = ComponentBuilder::default();
    component.core_module(None, &module);
    component.finish()
}

/// A component exporting `n` functions `f0` … (each lifted from an empty
/// core function): what the host reflects on, export by export.
pub fn many_exports(n: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let (mut functions, mut exports, mut bodies) = (
        FunctionSection::new(),
        ExportSection::new(),
        CodeSection::new(),
    );
    for i in 0..n {
        functions.function(0);
        exports.export(&format!("f{i}"), ExportKind::Func, i);
        let mut body = Function::new([]);
        body.instructions().end();
        bodies.function(&body);
    }
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&exports)
        .section(&bodies);
    // Different bytes on every run, so the artifact cache never has it and
    // every test that loads it waits for a real compile.
    let nonce = format!("{:?} {}", std::time::SystemTime::now(), std::process::id());
    module.section(&wasm_encoder::CustomSection {
        name: "nonce".into(),
        data: nonce.as_bytes().into(),
    });
    let mut component = ComponentBuilder::default();
    let module = component.core_module(None, &module);
    let no_imports: [(&str, ModuleArg); 0] = [];
    let instance = component.core_instantiate(None, module, no_imports);
    let (ty, mut signature) = component.type_function(None);
    let no_params: [(&str, wasm_encoder::ComponentValType); 0] = [];
    signature.params(no_params).result(None);
    for i in 0..n {
        let name = format!("f{i}");
        let core = component.core_alias_export(None, instance, &name, ExportKind::Func);
        let lifted = component.lift_func(None, core, ty, []);
        component.export(name.as_str(), ComponentExportKind::Func, lifted, None);
    }
    component.finish()
}
